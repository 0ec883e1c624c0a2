/**
 * The registry an image reference is pulled from, by Docker's rule (splitDockerDomain): the first
 * path component is a registry host when it has a dot, a port or a capital, or is `localhost`;
 * otherwise the image is on Docker Hub.
 */
export function imageRegistry(ref: string): string {
  const slash = ref.indexOf("/");
  if (slash < 0) return "docker.io";
  const first = ref.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase();
  return isHost ? first : "docker.io";
}
