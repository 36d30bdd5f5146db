import {expect} from 'chai'

import {startStep} from '../../../src/output/progress.js'

function sink(columns = 80) {
  const chunks: string[] = []
  return {chunks, stream: {columns, isTTY: true, write: (chunk: string) => chunks.push(chunk)}}
}

describe('step view', () => {
  it('prints every line with its prefix in raw mode (-v, or stderr not a terminal)', () => {
    const {chunks, stream} = sink()
    const step = startStep('building app:kudev-1234abcd', {color: false, prefix: 'build │ ', raw: true, stream})
    step.status('step 1/2')
    step.line('Step 1/2 : FROM scratch')
    step.done('built app:kudev-1234abcd in 1.2s')
    expect(chunks.join('')).to.equal(
      'building app:kudev-1234abcd\nbuild │ Step 1/2 : FROM scratch\nbuilt app:kudev-1234abcd in 1.2s\n',
    )
  })

  it('redraws one live line with the current status on a terminal, and leaves only the summary', () => {
    const {chunks, stream} = sink()
    const step = startStep('building app', {color: false, prefix: '', raw: false, stream})
    step.status('step 2/7: RUN npm ci')
    step.line('noise that the live view does not print')
    step.done('built app')
    const output = chunks.join('')
    expect(output).to.include('\r\u001B[2K')
    expect(output).to.not.include('noise')
    expect(output.endsWith('\r\u001B[2Kbuilt app\n')).to.equal(true)
  })

  it('keeps the live line within the terminal width', async () => {
    const {chunks, stream} = sink(30)
    const step = startStep('building a-very-long-image-name:kudev-1234abcd', {
      color: false,
      prefix: '',
      raw: false,
      stream,
    })
    step.status('x'.repeat(100))
    await new Promise((resolve) => setTimeout(resolve, 150))
    step.fail()
    for (const chunk of chunks) expect(chunk.replace('\r\u001B[2K', '').length).to.be.at.most(30)
  })

  it('prints nothing when silent', () => {
    const {chunks, stream} = sink()
    const step = startStep('building', {color: false, prefix: '', raw: true, silent: true, stream})
    step.line('x')
    step.done('y')
    expect(chunks).to.deep.equal([])
  })
})
