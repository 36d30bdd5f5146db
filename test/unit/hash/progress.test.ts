import {expect} from 'chai'

import {hashProgressView} from '../../../src/hash/progress.js'

function terminal(isTTY: boolean) {
  const writes: string[] = []
  return {stream: {isTTY, write: (text: string) => writes.push(text)}, writes}
}

describe('hash progress', () => {
  const progress = {bytes: 12_400_000, entries: 4321}

  it('stays silent for the first second, then shows entries and bytes, and clears its line', () => {
    let now = 0
    const {stream, writes} = terminal(true)
    const view = hashProgressView(stream, () => now)
    now = 900
    view.update(progress)
    expect(writes).to.deep.equal([])
    now = 1100
    view.update(progress)
    now = 1150
    view.update(progress)
    view.clear()
    expect(writes).to.deep.equal(['\r\u001B[2Khashing the build context: 4,321 entries, 12 MB', '\r\u001B[2K'])
  })

  it('prints nothing when stderr is not a terminal', () => {
    let now = 0
    const {stream, writes} = terminal(false)
    const view = hashProgressView(stream, () => now)
    now = 5000
    view.update(progress)
    view.clear()
    expect(writes).to.deep.equal([])
  })

  it('leaves nothing to clear after a quick run', () => {
    const {stream, writes} = terminal(true)
    hashProgressView(stream, () => 0).clear()
    expect(writes).to.deep.equal([])
  })
})
