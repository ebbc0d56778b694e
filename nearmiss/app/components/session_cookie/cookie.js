// Keeps the session cookie in step with the server (see __init__.py). SameSite=Strict: the
// cookie never travels with another site's request; Secure when served over HTTPS.
function current(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return hit === undefined ? null : decodeURIComponent(hit.slice(name.length + 1));
}

function write(name, value, maxAge) {
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${maxAge}; Path=/; SameSite=Strict${secure}`;
}

export default function (component) {
  const { data } = component;
  const now = current(data.name);
  if (data.set && data.max_age > 0 && now !== data.set) write(data.name, data.set, data.max_age);
  else if (!data.set && data.drop && now === data.drop) write(data.name, "", 0);
}
