// Drives the dialog of ReconnectModal.razor from the events .NET 10's blazor.web.js raises on it.
const dialog = document.getElementById("components-reconnect-modal");

dialog.addEventListener("components-reconnect-state-changed", event => {
    switch (event.detail.state) {
        case "show":
            dialog.showModal();
            break;
        case "hide":
            dialog.close();
            break;
        case "failed":
            document.addEventListener("visibilitychange", retryWhenVisible);
            break;
        case "rejected":
            // The server is back but has forgotten the circuit: a fresh page is the only way on.
            location.reload();
            break;
    }
});

document.getElementById("components-reconnect-button").addEventListener("click", retry);
document.getElementById("components-resume-button").addEventListener("click", resume);

async function retry() {
    document.removeEventListener("visibilitychange", retryWhenVisible);
    try {
        // true: reconnected; false: the server answered but no longer has the circuit.
        if (!await Blazor.reconnect()) {
            await resume();
        }
    } catch {
        // Server still unreachable: try again when the operator comes back to the tab.
        document.addEventListener("visibilitychange", retryWhenVisible);
    }
}

async function resume() {
    try {
        if (await Blazor.resumeCircuit()) {
            dialog.close();
        } else {
            location.reload();
        }
    } catch {
        dialog.classList.replace("components-reconnect-paused", "components-reconnect-resume-failed");
    }
}

async function retryWhenVisible() {
    if (document.visibilityState === "visible") {
        await retry();
    }
}
