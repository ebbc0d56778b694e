// Keeps this tab's session token in localStorage, which only this origin can read (see
// __init__.py): stores a sign-in's token, removes one the server dropped while storage still
// holds it, and, asked, sends the stored token (or "") back to the server.
export default function (component) {
  const { data, setTriggerValue } = component;
  const storage = window.localStorage;
  const held = storage.getItem(data.key);
  if (data.set) {
    if (held !== data.set) storage.setItem(data.key, data.set);
  } else if (data.drop && held === data.drop) {
    storage.removeItem(data.key);
  }
  if (data.ask) setTriggerValue("stored", storage.getItem(data.key) || "");
}
