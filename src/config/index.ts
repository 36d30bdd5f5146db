/** The .kudev.yaml module: finding, parsing and validating the project configuration. */
export {findConfigFile, type FindOptions} from './find.js'
export {loadConfig, parseConfig} from './load.js'
export {configError, formatProblem, type Problem} from './problems.js'
export {
  API_VERSION,
  CONFIG_FILE_NAME,
  DEFAULTS,
  type EnvVar,
  KIND,
  type KudevConfig,
  type KudevSpec,
  type ProjectConfig,
} from './schema.js'
export {deriveProjectName, starterConfig} from './starter.js'
export {validateConfig} from './validate.js'
