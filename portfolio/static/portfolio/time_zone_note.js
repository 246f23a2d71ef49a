// Django's date-time inputs each add "Note: You are N hours ahead of server time." when the
// browser's zone differs from the page's: said once here, naming the page's zone, not on every line.
"use strict";
window.addEventListener("load", function () {
    // After the admin's own load handlers (DateTimeShortcuts) have added the notes.
    setTimeout(function () {
        const notes = document.querySelectorAll(".timezonewarning");
        if (!notes.length) {
            return;
        }
        const script = document.getElementById("time-zone-note-script");
        const zone = script ? script.dataset.timeZone : "";
        notes.forEach(function (note, index) {
            if (index > 0) {
                note.hidden = true;
            } else if (zone) {
                const offset = note.textContent.match(/([\d.]+ hours?) (ahead|behind)/);
                note.textContent = "Times on this page are in " + zone +
                    (offset ? "; your computer's clock is " + offset[1] + " " + offset[2] + " of them." : ".");
            }
        });
    }, 0);
});
