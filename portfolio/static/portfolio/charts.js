// The admin's charts: every <section class="chart" data-url data-kind data-range> on the page
// fetches its JSON (portfolio/admin/charts.py), draws it with Chart.js (static/vendor/chartjs),
// and fetches again when another range is chosen. An empty range says so in words, and offers
// the range ending at the latest data when the server knows it; a failed fetch says why. After
// drawing, the canvas carries data-drawn="N points" (the browser tests read it).
"use strict";
{
    const numbers = new Intl.NumberFormat("en-US", {maximumFractionDigits: 2});
    const charts = new WeakMap();

    function pad(n) {
        return String(n).padStart(2, "0");
    }

    function utcDate(ms) {
        const d = new Date(ms);
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    }

    function utcMinute(ms) {
        const d = new Date(ms);
        return `${utcDate(ms)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    }

    function tickText(ms, spanMs) {
        // Short ranges by the minute, long ones by the day: ticks stay short enough not to overlap.
        return spanMs <= 2 * 86400000 ? utcMinute(ms).slice(5) : utcDate(ms);
    }

    function colour(section, tone) {
        const value = getComputedStyle(section).getPropertyValue(`--chart-${tone}`).trim();
        return value || "#417893";
    }

    function withUnit(value, unit) {
        return value === null || value === undefined ? "-" : `${numbers.format(value)}${unit ? " " + unit : ""}`;
    }

    function axisStyle(section) {
        return {
            ticks: {color: colour(section, "text")},
            grid: {color: colour(section, "grid")},
        };
    }

    function lineConfig(section, data) {
        const from = data.range.from_ms;
        const to = data.range.to_ms;
        const datasets = [];
        const unit = (data.series[0] || {}).unit || "";
        data.series.forEach((series, index) => {
            const tone = index === 0 ? "primary" : "secondary";
            if (series.style === "band") {
                datasets.push({
                    label: "",
                    data: series.points.map(([x, low]) => ({x, y: low})),
                    borderWidth: 0, pointRadius: 0, fill: false, unit: series.unit,
                });
                datasets.push({
                    label: series.label,
                    data: series.points.map(([x, , high]) => ({x, y: high})),
                    borderWidth: 0, pointRadius: 0, fill: "-1", unit: series.unit,
                    backgroundColor: colour(section, "band"),
                });
                return;
            }
            // An area (what was sent) lies under the line it is part of, so both stay visible.
            const area = series.style === "area";
            datasets.push({
                label: series.label,
                data: series.points.map(([x, y]) => ({x, y})),
                borderColor: colour(section, tone),
                backgroundColor: area ? colour(section, "area") : colour(section, tone),
                borderWidth: series.style === "line" ? 1.5 : 2,
                pointRadius: series.points.length <= 100 && !area ? 2 : 0,
                stepped: series.style === "line" ? false : "after",
                fill: area ? "origin" : false,
                order: area ? 1 : 0,
                unit: series.unit,
            });
        });
        const x = {
            type: "linear", min: from, max: to, ...axisStyle(section),
            ticks: {...axisStyle(section).ticks, maxRotation: 0, autoSkipPadding: 16,
                    callback: (value) => tickText(value, to - from)},
        };
        const y = {...axisStyle(section), title: {display: Boolean(unit), text: unit, color: colour(section, "text")}};
        y.ticks = {...y.ticks, callback: (value) => numbers.format(value)};
        return {
            type: "line",
            data: {datasets},
            options: {
                ...common(section),
                parsing: false,
                normalized: true,
                scales: {x, y},
                plugins: {
                    ...common(section).plugins,
                    tooltip: {
                        callbacks: {
                            title: (items) => items.length ? `${utcMinute(items[0].parsed.x)} UTC` : "",
                            label: (item) => `${item.dataset.label || "lowest"}: ${withUnit(item.parsed.y, item.dataset.unit)}`,
                        },
                    },
                },
            },
        };
    }

    function barConfig(section, data) {
        const stacked = Boolean(data.stacked);
        const scales = {
            x: {...axisStyle(section), stacked, ticks: {...axisStyle(section).ticks, maxRotation: 0, autoSkipPadding: 16}},
        };
        const datasets = data.series.map((series) => {
            const axis = series.axis === "right" ? "y2" : "y";
            if (!scales[axis]) {
                scales[axis] = {
                    ...axisStyle(section), stacked, beginAtZero: true,
                    position: axis === "y2" ? "right" : "left",
                    title: {display: Boolean(series.unit), text: series.unit, color: colour(section, "text")},
                };
                scales[axis].ticks = {...scales[axis].ticks, callback: (value) => numbers.format(value)};
                if (axis === "y2") {
                    scales[axis].grid = {drawOnChartArea: false};
                }
            }
            return {
                label: series.label,
                data: series.values,
                yAxisID: axis,
                backgroundColor: colour(section, series.tone || "primary"),
                unit: series.unit,
            };
        });
        return {
            type: "bar",
            data: {labels: data.labels, datasets},
            options: {
                ...common(section),
                scales,
                plugins: {
                    ...common(section).plugins,
                    tooltip: {
                        callbacks: {
                            label: (item) => `${item.dataset.label}: ${withUnit(item.parsed.y, item.dataset.unit)}`,
                        },
                    },
                },
            },
        };
    }

    function common(section) {
        return {
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            interaction: {mode: "nearest", axis: "x", intersect: false},
            plugins: {
                legend: {
                    labels: {color: colour(section, "text"), filter: (item) => Boolean(item.text)},
                },
            },
        };
    }

    function countDrawn(data) {
        if (data.kind === "bars") {
            return data.series.reduce(
                (sum, series) => sum + series.values.filter((v) => v !== null && v !== 0).length, 0);
        }
        return data.series.reduce((sum, series) => sum + series.points.length, 0);
    }

    function say(section, text, state) {
        const status = section.querySelector(".chart-status");
        status.textContent = text;
        status.hidden = !text;
        section.dataset.state = state;
    }

    function showNotes(section, notes) {
        const list = section.querySelector(".chart-notes");
        list.replaceChildren(...notes.map((note) => {
            const item = document.createElement("li");
            item.textContent = note;
            return item;
        }));
    }

    function offerLatest(section, latestMs) {
        const status = section.querySelector(".chart-status");
        const preset = section.chartQuery.range || section.dataset.range;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button chart-latest";
        button.textContent = `Show the ${presetWords(preset)} up to the latest data (${utcMinute(latestMs)} UTC)`;
        button.addEventListener("click", () => {
            // Just past the latest reading, so that it is inside the range.
            load(section, {range: preset, end: new Date(latestMs + 1000).toISOString()});
        });
        status.append(" ", button);
    }

    function presetWords(range) {
        return {"24h": "24 hours", "7d": "7 days", "30d": "30 days", "1y": "year"}[range] || "days";
    }

    function draw(section, data) {
        const canvas = section.querySelector("canvas");
        const frame = section.querySelector(".chart-frame");
        const previous = charts.get(section);
        if (previous) {
            previous.destroy();
        }
        showNotes(section, data.notes || []);
        section.querySelector(".chart-range").textContent = data.range.words;
        if (data.empty) {
            charts.delete(section);
            frame.hidden = true;
            canvas.dataset.drawn = "0 points";
            say(section, "No data in this range.", "empty");
            if (data.latest_ms) {
                offerLatest(section, data.latest_ms);
            }
            return;
        }
        frame.hidden = false;
        say(section, "", "drawn");
        const config = data.kind === "bars" ? barConfig(section, data) : lineConfig(section, data);
        charts.set(section, new window.Chart(canvas, config));
        canvas.dataset.drawn = `${countDrawn(data)} points`;
    }

    async function failure(response) {
        if (response.status === 403) {
            return "You may not see this chart: your role does not allow it.";
        }
        try {
            const body = await response.json();
            if (body.error) {
                return body.error;
            }
        } catch (error) {
            // not JSON: the status says it
        }
        return `The server could not give this chart (HTTP ${response.status}).`;
    }

    async function load(section, query) {
        section.chartQuery = query;
        markPreset(section, query.range && !query.end ? query.range : null);
        say(section, "Loading the chart…", "loading");
        const url = new URL(section.dataset.url, window.location.href);
        for (const [name, value] of Object.entries(query)) {
            if (value) {
                url.searchParams.set(name, value);
            }
        }
        let response;
        try {
            response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
        } catch (error) {
            say(section, "The chart could not be loaded: the server did not answer. Try again in a moment.", "error");
            return;
        }
        if (section.chartQuery !== query) {
            return; // another range was chosen meanwhile
        }
        if (!response.ok) {
            say(section, `The chart could not be loaded. ${await failure(response)}`, "error");
            section.querySelector("canvas").dataset.drawn = "0 points";
            return;
        }
        draw(section, await response.json());
    }

    function markPreset(section, range) {
        for (const button of section.querySelectorAll(".chart-presets button")) {
            const active = button.dataset.range === range;
            button.classList.toggle("chart-active", active);
            button.setAttribute("aria-pressed", String(active));
        }
    }

    function start(section) {
        if (section.dataset.started) {
            return;
        }
        section.dataset.started = "true";
        const range = document.createElement("p");
        range.className = "chart-range";
        section.querySelector(".chart-controls").after(range);
        for (const button of section.querySelectorAll(".chart-presets button")) {
            button.addEventListener("click", () => load(section, {range: button.dataset.range}));
        }
        const controls = section.querySelector(".chart-controls");
        const chosenDates = () => {
            const from = controls.querySelector('[data-bound="from"]').value;
            const to = controls.querySelector('[data-bound="to"]').value;
            if (!from || !to) {
                say(section, "Choose both dates, or one of the ranges.", section.dataset.state || "loading");
                return;
            }
            load(section, {from, to});
        };
        controls.querySelector(".chart-show").addEventListener("click", chosenDates);
        controls.addEventListener("keydown", (event) => {
            // Enter in a date field shows that range; it must not submit the admin's form around the chart.
            if (event.key === "Enter" && event.target.matches("input")) {
                event.preventDefault();
                chosenDates();
            }
        });
        load(section, {range: section.dataset.range || "7d"});
    }

    function startAll() {
        document.querySelectorAll("section.chart[data-url]").forEach(start);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", startAll);
    } else {
        startAll();
    }
}
