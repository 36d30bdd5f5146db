/**
 * toolkit.dropBuildLeftovers on a made-up image CLI `img` (the docker and podman builders' tests check
 * their own commands): what happens to the tag, which untagged images go, and how a failure is worded.
 */
import {expect} from 'chai'

import type {ImageCli, ImageInfo} from '../../../src/plugins/contract.js'
import {type Answer, fakeToolkit} from '../../../src/testing/index.js'

const REF = 'app:kudev-1a2b3c4d'
const OLD_ID = `sha256:${'0a'.repeat(32)}`
const NEW_ID = `sha256:${'b1'.repeat(32)}`
const LABELS = {'dev.kudev.digest': '1a2b'.repeat(16), team: 'shop'}
const GOOD: ImageInfo = {id: OLD_ID, labels: {...LABELS, extra: 'yes'}}
const BUILT: ImageInfo = {id: NEW_ID, labels: LABELS}
/** What `img dangling` is asked for the build's labels. */
const LOOKUP = [
  'img',
  'dangling',
  '--filter',
  `label=dev.kudev.digest=${'1a2b'.repeat(16)}`,
  '--filter',
  'label=team=shop',
]

/** `img`, whose tag names `current` (an Error: inspect fails); its reason is the line `why: …` of stderr. */
function imageCli(current: ImageInfo | Error | undefined): ImageCli {
  return {
    file: 'img',
    inspect: async () => {
      if (current instanceof Error) throw current
      return current
    },
    listDangling: ['dangling'],
    options: {env: {IMG_HOST: 'unix:///img.sock'}},
    reason: (stderr) => /^why: (.*)$/m.exec(stderr)?.[1],
    removeImages: ['rmi'],
    retag: (id, ref) => ['tag', id, ref],
    untag: (ref) => ['untag', ref],
  }
}

/** A toolkit whose `img` commands succeed silently unless `answers` says otherwise. */
function img(answers: {dangling?: Answer; rmi?: Answer; tag?: Answer; untag?: Answer} = {}) {
  return fakeToolkit(([, command]) => answers[command as keyof typeof answers] ?? {})
}

describe('toolkit.dropBuildLeftovers', () => {
  it('puts the tag back on the previous image when it carries every label the build asked for', async () => {
    const toolkit = img()
    await toolkit.dropBuildLeftovers(imageCli(BUILT), REF, LABELS, GOOD)
    expect(toolkit.commands).to.deep.equal([['img', 'tag', OLD_ID, REF], LOOKUP])
  })

  it('removes the tag when the previous image lacks one of the labels', async () => {
    const toolkit = img()
    const otherDigest = {id: OLD_ID, labels: {...LABELS, 'dev.kudev.digest': 'f'.repeat(64)}}
    await toolkit.dropBuildLeftovers(imageCli(otherDigest), REF, LABELS, otherDigest)
    expect(toolkit.commands).to.deep.equal([['img', 'untag', REF], LOOKUP])
  })

  it('removes the tag when nothing had it before the build', async () => {
    const toolkit = img()
    await toolkit.dropBuildLeftovers(imageCli(BUILT), REF, LABELS, undefined)
    expect(toolkit.commands).to.deep.equal([['img', 'untag', REF], LOOKUP])
  })

  it('does nothing about the tag when it names no image, or cannot be inspected', async () => {
    for (const current of [undefined, new Error('img: daemon not answering')]) {
      const toolkit = img()
      await toolkit.dropBuildLeftovers(imageCli(current), REF, LABELS, GOOD)
      expect(toolkit.commands).to.deep.equal([LOOKUP])
    }
  })

  it('does nothing about the tag when it still names the previous image', async () => {
    const toolkit = img()
    await toolkit.dropBuildLeftovers(imageCli(GOOD), REF, LABELS, GOOD)
    expect(toolkit.commands).to.deep.equal([LOOKUP])
  })

  it("removes the untagged images carrying the build's labels, each once", async () => {
    const toolkit = img({dangling: {stdout: `${NEW_ID}\n${OLD_ID}\n${NEW_ID}\n`}})
    await toolkit.dropBuildLeftovers(imageCli(undefined), REF, LABELS, undefined)
    expect(toolkit.commands).to.deep.equal([LOOKUP, ['img', 'rmi', NEW_ID, OLD_ID]])
  })

  it('removes nothing when the untagged images cannot be listed', async () => {
    const toolkit = img({dangling: {exitCode: 1, stdout: `${NEW_ID}\n`}})
    await toolkit.dropBuildLeftovers(imageCli(undefined), REF, LABELS, undefined)
    expect(toolkit.commands).to.deep.equal([LOOKUP])
  })

  it("runs every command with the CLI's options, allowed to fail", async () => {
    const toolkit = img()
    await toolkit.dropBuildLeftovers(imageCli(BUILT), REF, LABELS, GOOD)
    expect(toolkit.calls.map((call) => call.options)).to.deep.equal([
      {allowFailure: true, env: {IMG_HOST: 'unix:///img.sock'}},
      {allowFailure: true, env: {IMG_HOST: 'unix:///img.sock'}},
    ])
  })

  describe('failure words', () => {
    it("warns with the CLI's reason when the tag cannot be put back or removed", async () => {
      const refused = {exitCode: 1, stderr: 'img: 3 layers\nwhy: image is in use\n'}
      const toolkit = img({tag: refused, untag: refused})
      await toolkit.dropBuildLeftovers(imageCli(BUILT), REF, LABELS, GOOD)
      await toolkit.dropBuildLeftovers(imageCli(BUILT), REF, LABELS, undefined)
      expect(toolkit.logs.warn).to.deep.equal([
        `could not restore the tag ${REF}: image is in use`,
        `could not remove the tag ${REF}: image is in use`,
      ])
    })

    it('names the command and its exit code when the CLI gives no reason', async () => {
      const toolkit = img({untag: {exitCode: 125, stderr: 'img: 3 layers\n'}})
      await toolkit.dropBuildLeftovers(imageCli(BUILT), REF, LABELS, undefined)
      expect(toolkit.logs.warn).to.deep.equal([
        `could not remove the tag ${REF}: img untag ${REF} exited with code 125`,
      ])
    })

    it('says under -v only that untagged images could not be removed', async () => {
      const toolkit = img({dangling: {stdout: `${NEW_ID}\n`}, rmi: {exitCode: 2, stderr: 'why: image is in use\n'}})
      await toolkit.dropBuildLeftovers(imageCli(undefined), REF, LABELS, undefined)
      expect(toolkit.logs.warn).to.deep.equal([])
      expect(toolkit.logs.debug).to.include(`could not remove the untagged image ${NEW_ID}: image is in use`)
    })
  })
})
