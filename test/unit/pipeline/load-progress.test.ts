import {expect} from 'chai'

import {progressLine} from '../../../src/pipeline/load-image.js'

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
})
