import { InputError } from "../errors.js";

// Docker's reference grammar, simplified: [domain[:port]/]path[:tag][@sha256:digest].
const DOMAIN = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?";
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_RE = new RegExp(
  `^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

/** Why an image reference is not pinned, or null when it is pinned by a tag other than latest or by a digest. */
export function imageRefProblem(ref: string): string | null {
  const shown = JSON.stringify(ref.slice(0, 200));
  if (ref.length > 255) return `image ${shown} is longer than 255 characters`;
  const m = IMAGE_RE.exec(ref);
  if (!m) return `${shown} is not a valid image reference`;
  const [, tag, digest] = m;
  if (digest) return null;
  if (tag === undefined) return `image ${shown} has no tag; pin a version tag or a digest (never latest)`;
  if (tag.toLowerCase() === "latest") return `image ${shown} uses :latest; pin a version tag or a digest`;
  return null;
}

/** Returns the reference, or throws InputError naming `field` when it is not pinned. */
export function checkImageRef(ref: string, field = "--image"): string {
  const problem = imageRefProblem(ref);
  if (problem) throw new InputError(`${field}: ${problem}`, "for example ghcr.io/openclaw/openclaw-gateway:2026.11.1");
  return ref;
}
