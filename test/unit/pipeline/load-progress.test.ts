import {expect} from 'chai'

import {describeNodeLoad, progressLine} from '../../../src/pipeline/load-image.js'

describe("a load's progress line", () => {
  it('says how much of the image is saved, then what each node was sent of its total', () => {
    const lines: string[] = []
    const report = progressLine((text) => lines.push(text))
    report({bytes: 120_000_000})
    report({bytes: 12_000_000, node: 'kind-worker', total: 663_000_000})
    report({bytes: 2_500_000, node: 'kind-control-plane', total: 663_000_000})
    report({bytes: 40_000_000, node: 'kind-worker', total: 663_000_000})
    expect(lines).to.deep.equal([
      'saving the image: 120 MB',
      'kind-worker 12 MB of 663 MB',
      'kind-worker 12 MB of 663 MB · kind-control-plane 2.5 MB of 663 MB',
      'kind-worker 40 MB of 663 MB · kind-control-plane 2.5 MB of 663 MB',
    ])
  })

  it("-v's line per node says how the layers left Docker, when the loader says", () => {
    const load = {blobsSent: 3, blobsSkipped: 1, bytesSent: 4000, bytesSkipped: 663_000_000, durationMs: 900}
    expect(describeNodeLoad({...load, mode: 'trimmed', node: 'kind-worker', source: 'push'})).to.equal(
      'kind-worker: trimmed, from docker push, sent 3 blobs (4.0 kB), left out 1 layer it holds (663 MB), 0.9s',
    )
    expect(
      describeNodeLoad({
        ...load,
        mode: 'full',
        node: 'kind-worker',
        reason: 'the node holds none of its layers',
        source: 'save',
      }),
    ).to.equal('kind-worker: full, from a save, sent 3 blobs (4.0 kB) (the node holds none of its layers), 0.9s')
    expect(describeNodeLoad({...load, mode: 'trimmed', node: 'n1'})).to.equal(
      'n1: trimmed, sent 3 blobs (4.0 kB), left out 1 layer it holds (663 MB), 0.9s',
    )
  })
})
