/** Default quiet period of --watch: an editor's save (write, rename, chmod) arrives as one burst well within it. */
export const DEFAULT_QUIET_MS = 100
/** How often watch mode checks every path when it has no file watcher it can trust (--poll sets it). */
export const DEFAULT_POLL_MS = 2000
