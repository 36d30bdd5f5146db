/**
 * When recorded times can vouch for what they describe. A folder's stat vouches for its listing because
 * adding, removing or renaming an entry changes the folder's mtime and ctime. kudev trusts that only on
 * local Linux filesystems known to keep it (git's untracked cache tests the filesystem for the same reason),
 * only for folders on the context root's filesystem, never when KUDEV_TRUST_FOLDER_TIMES=0, and not for
 * stats inside the racy window, which are recorded as moved. Each folder's stat is taken before it is listed
 * (the walk lstats a folder in its parent's listing), so a change during the walk shows next time.
 */
import {statfsSync} from 'node:fs'

/**
 * statfs magic numbers of local filesystems that update a folder's mtime and ctime whenever an entry is
 * added, removed or renamed in it: ext2/3/4, xfs, btrfs, tmpfs, overlayfs, zfs, f2fs, bcachefs.
 * Network and FUSE filesystems are not among them.
 */
const TRUSTED_FILESYSTEMS = new Set([
  0xef_53, 0x58_46_53_42, 0x91_23_68_3e, 0x01_02_19_94, 0x79_4c_76_30, 0x2f_c1_2f_c1, 0xf2_f5_20_10, 0xca_45_1a_4e,
])

/**
 * git's racy rule: a stat within this window before the walk began may share its clock tick with a change
 * right after kudev looked, so it is recorded as moved. TRUSTED_FILESYSTEMS keep nanosecond times from this
 * machine's clock in ticks of at most 10 ms: a tenth of a second is plenty. Elsewhere 2 s covers FAT's
 * granularity and a remote clock a little behind this machine's.
 */
export const RACY_WINDOW_NS = {trusted: 100_000_000n, untrusted: 2_000_000_000n}

/**
 * Whether a folder's times can vouch for its listing on the filesystem holding `root`; the reason when not.
 * KUDEV_TRUST_FOLDER_TIMES=0 says no, for a filesystem that claims to be one of these but is not.
 */
export function folderTimesTrusted(root: string, env: NodeJS.ProcessEnv = process.env): true | string {
  if (env.KUDEV_TRUST_FOLDER_TIMES === '0') return 'KUDEV_TRUST_FOLDER_TIMES=0'
  if (process.platform !== 'linux') return `not on ${process.platform}, yet`
  const filesystem = statfsSync(root).type
  return (
    TRUSTED_FILESYSTEMS.has(filesystem) ||
    `filesystem type 0x${filesystem.toString(16)} is not known to keep folder times`
  )
}
