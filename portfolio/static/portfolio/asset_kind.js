// Show only the fieldsets of the asset's kind (and any that carry an error or a value
// the server rejected), so staff see exactly the fields their kind needs.
"use strict";
{
    function showKindFieldsets() {
        const kind = document.getElementById("id_kind");
        if (!kind) {
            return;
        }
        for (const fieldset of document.querySelectorAll("fieldset.kind-fields")) {
            const ofKind = fieldset.classList.contains("kind-" + kind.value);
            const hasErrors = fieldset.querySelector(".errorlist") !== null;
            fieldset.hidden = !(ofKind || hasErrors);
        }
    }
    document.addEventListener("DOMContentLoaded", () => {
        showKindFieldsets();
        const kind = document.getElementById("id_kind");
        if (kind) {
            kind.addEventListener("change", showKindFieldsets);
        }
    });
}
