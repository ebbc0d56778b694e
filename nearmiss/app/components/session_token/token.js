// Keeps this tab's session token in localStorage, which only this origin can read (see
// __init__.py): stores a sign-in's token, removes one the server dropped while storage still
// holds it, and, asked, sends the stored token (or "") back to the server as component state
// (a fresh value each time, so the server sees a change). Without storage (blocked by the
// browser) it answers "", so the sign-in form shows; a reload then signs in again.
function openStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export default function (component) {
  const { data, setStateValue } = component;
  const storage = openStorage();
  const held = storage ? storage.getItem(data.key) : null;
  if (storage && data.set) {
    if (held !== data.set) storage.setItem(data.key, data.set);
  } else if (storage && data.drop && held === data.drop) {
    storage.removeItem(data.key);
  }
  if (data.ask) setStateValue("stored", { token: (storage && storage.getItem(data.key)) || "", at: Date.now() });
}
