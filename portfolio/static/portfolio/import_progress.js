// Follow an import while its worker runs: poll the record's progress (JSON) every two
// seconds, update the panel, and reload the page when the import is done so it shows the
// outcome. Without JavaScript, a <noscript> meta refresh reloads the page instead.
"use strict";
{
    const POLL_MILLISECONDS = 2000;
    const numbers = new Intl.NumberFormat();

    function show(panel, progress) {
        const text = {
            status_label: progress.status_label,
            phase: progress.phase,
            percent: progress.percent === null ? "-" : progress.percent + "%",
            rows_read: numbers.format(progress.rows_read),
            rows_per_second: progress.rows_per_second === null ? "-" : numbers.format(progress.rows_per_second),
            elapsed: progress.elapsed || "-",
            time_left: progress.time_left || "-",
        };
        for (const [field, value] of Object.entries(text)) {
            const element = panel.querySelector(`[data-field="${field}"]`);
            if (element) {
                element.textContent = value;
            }
        }
        const bar = panel.querySelector("progress");
        if (bar && progress.percent !== null) {
            bar.value = progress.percent;
        }
    }

    async function poll(panel) {
        let progress;
        try {
            const response = await fetch(panel.dataset.progressUrl, {
                credentials: "same-origin",
                headers: {Accept: "application/json"},
            });
            if (!response.ok) {
                throw new Error(`HTTP ${response.status}`);
            }
            progress = await response.json();
        } catch (error) {
            // A hiccup (the server restarting): try again at the next tick.
            setTimeout(() => poll(panel), POLL_MILLISECONDS);
            return;
        }
        show(panel, progress);
        if (progress.finished) {
            window.location.reload();
        } else {
            setTimeout(() => poll(panel), POLL_MILLISECONDS);
        }
    }

    document.addEventListener("DOMContentLoaded", () => {
        const panel = document.getElementById("import-progress");
        if (panel && panel.dataset.progressUrl) {
            setTimeout(() => poll(panel), POLL_MILLISECONDS);
        }
    });
}
