export { shellQuote as shq } from "../../domain/shell.js";
