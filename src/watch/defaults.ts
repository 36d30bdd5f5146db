/** Default quiet period of --watch: an editor's save (write, rename, chmod) arrives as one burst well within it. */
export const DEFAULT_QUIET_MS = 100
