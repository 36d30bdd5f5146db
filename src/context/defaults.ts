/**
 * What kudev leaves out of the build context when the project has no ignore file (neither
 * `<Dockerfile>.dockerignore` nor `.dockerignore`). Written as .dockerignore rules, so they match the
 * way Docker's own rules do: `**\/` in front means "at any depth", a bare name only matches at the root.
 * As soon as the project has an ignore file, none of these apply.
 */
import {parseIgnoreFile, type IgnoreRule} from './dockerignore.js'

/** The `file` the default rules report, e.g. in `kudev hash --explain`. */
export const DEFAULT_IGNORE_FILE = '<kudev defaults>'

export const DEFAULT_IGNORE_TEXT = `# kudev defaults: used only when the project has no .dockerignore
# version control
**/.git
**/.gitignore
# dependencies installed on the host
**/node_modules
**/vendor
# kudev's own configuration
.kudev.yaml
# logs
**/*.log
# editor and OS files
**/.DS_Store
**/Thumbs.db
**/*.swp
**/*~
**/.idea
**/.vscode
`

// Parsed with Linux rules on every host: the text has no backslashes, and the result must not vary.
export const DEFAULT_IGNORE_RULES: readonly IgnoreRule[] = Object.freeze(
  parseIgnoreFile(DEFAULT_IGNORE_TEXT, DEFAULT_IGNORE_FILE, {windows: false}),
)
