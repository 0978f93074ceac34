export { XlCfgError, formatProblem, type XlCfgProblem, type SourcePos } from './errors.js';
export { parseXlCfgSettings, formatXlValue, quoteXlString, MAX_LIST_DEPTH, type XlSetting, type XlValue, type XlAtom, type XlList, type ParseOptions } from './parser.js';
export { XlConfig, parseXlCfg, applyOverrides } from './config.js';
