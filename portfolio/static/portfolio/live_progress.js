// Follow long work on its page while a worker runs it (an import, an upload run, a sync): poll
// the panel's JSON (data-progress-url) every data-poll-milliseconds, fill the panel's
// [data-field] elements and its <progress> bar. The page reloads when the status changes from
// the one it was drawn with (data-status: queued, then running) and once the work is done, so
// its fields show the outcome. Without JavaScript, a <noscript> meta refresh reloads it instead.
"use strict";
{
    const DEFAULT_POLL_MILLISECONDS = 2000;
    const numbers = new Intl.NumberFormat();

    function text(value, suffix) {
        if (value === null || value === undefined || value === "") {
            return "-";
        }
        return (typeof value === "number" ? numbers.format(value) : String(value)) + suffix;
    }

    function show(panel, status) {
        for (const element of panel.querySelectorAll("[data-field]")) {
            if (element.dataset.field in status) {
                element.textContent = text(status[element.dataset.field], element.dataset.suffix || "");
            }
        }
        for (const link of panel.querySelectorAll("[data-href]")) {
            if (status[link.dataset.href]) {
                link.href = status[link.dataset.href];
            }
        }
        // Parts shown only while the work runs, or only once it is done.
        for (const element of panel.querySelectorAll("[data-while]")) {
            element.hidden = (element.dataset.while === "finished") !== Boolean(status.finished);
        }
        const bar = panel.querySelector("progress");
        if (bar && status.percent !== null && status.percent !== undefined) {
            bar.value = status.percent;
        }
    }

    async function poll(panel, every) {
        let status;
        try {
            const response = await fetch(panel.dataset.progressUrl, {
                credentials: "same-origin",
                headers: {Accept: "application/json"},
            });
            if (!response.ok) {
                throw new Error(`HTTP ${response.status}`);
            }
            status = await response.json();
        } catch (error) {
            // A hiccup (the server restarting): try again at the next tick.
            setTimeout(() => poll(panel, every), every);
            return;
        }
        show(panel, status);
        const drawnWith = panel.dataset.status;
        if (status.finished || (drawnWith && status.status !== drawnWith)) {
            window.location.reload();
        } else {
            setTimeout(() => poll(panel, every), every);
        }
    }

    document.addEventListener("DOMContentLoaded", () => {
        const panel = document.querySelector("[data-progress-url]");
        if (panel) {
            const every = Number(panel.dataset.pollMilliseconds) || DEFAULT_POLL_MILLISECONDS;
            setTimeout(() => poll(panel, every), every);
        }
    });
}
