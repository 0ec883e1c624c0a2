export { renderInstance, renderEach, type RenderOptions, type RenderedInstance, type FileKey, type FileOutcome } from "./render-instance.js";
export { canonicalJson, type InstanceContext } from "./context.js";
export { imageRegistry } from "./image-registry.js";
export { checkCompose, POLICY_RULES, type PolicyViolation, type ComposeExpectations } from "./compose-policy.js";
export { parseComposeYaml, type ParsedCompose, type YamlProblem } from "./compose-yaml.js";
export { validateComposeSchema, type SchemaProblem } from "./compose-schema.js";
export { renderSampleContext, SAMPLE_API_KEY, SAMPLE_GATEWAY_TOKEN, SAMPLE_SESSION_SECRET } from "./sample.js";
export { getEngine, type TemplateEngine } from "./engine.js";
export { TemplateError } from "./template-error.js";
