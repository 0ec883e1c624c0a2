export { renderInstance, renderEach, type RenderOptions, type RenderedInstance, type FileKey, type FileOutcome } from "./render-instance.js";
export { checkInstanceContext, computeConfigHash, canonicalJson, type InstanceContext } from "./context.js";
export { checkCompose, POLICY_RULES, type PolicyViolation, type ComposeExpectations } from "./compose-policy.js";
export { parseComposeYaml, type ParsedCompose, type YamlProblem } from "./compose-yaml.js";
export { validateComposeSchema, type SchemaProblem } from "./compose-schema.js";
export { renderSampleContext, SAMPLE_API_KEY, SAMPLE_GATEWAY_TOKEN, SAMPLE_SESSION_SECRET } from "./sample.js";
export { getEngine, clearTemplateCache, PARTIALS_DIR, type TemplateEngine } from "./engine.js";
export { TemplateError } from "./template-error.js";
export { shq, yq, cq, envv, num, size } from "./helpers.js";
