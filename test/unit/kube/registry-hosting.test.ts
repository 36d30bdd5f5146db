import {expect} from 'chai'

import {parseHosting, read} from '../../../src/kube/registry-hosting.js'

const configMap = (data: unknown) => ({apiVersion: 'v1', data, kind: 'ConfigMap'})

describe('parseHosting (KEP-1755 local-registry-hosting)', () => {
  it('reads v1 as kind, k3d and ctlptl write it, quoted or not', () => {
    const kind = configMap({
      'localRegistryHosting.v1': 'host: "localhost:5001"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n',
    })
    expect(parseHosting(kind)).to.deep.equal({
      hosting: {help: 'https://kind.sigs.k8s.io/docs/user/local-registry/', host: 'localhost:5001'},
      notes: [],
    })
    const k3d = configMap({
      'localRegistryHosting.v1':
        'host: k3d-registry.localhost:5000\nhostFromContainerRuntime: k3d-registry:5000\nhostFromClusterNetwork: k3d-registry:5000\n',
    })
    expect(parseHosting(k3d).hosting).to.deep.equal({
      host: 'k3d-registry.localhost:5000',
      hostFromClusterNetwork: 'k3d-registry:5000',
      hostFromContainerRuntime: 'k3d-registry:5000',
    })
  })

  it('reads the newest version it understands and notes the others', () => {
    const both = configMap({
      'localRegistryHosting.v1': 'host: localhost:5001\n',
      'localRegistryHosting.v2': 'hosts: [a, b]\n',
    })
    expect(parseHosting(both)).to.deep.equal({
      hosting: {host: 'localhost:5001'},
      notes: ['ignored localRegistryHosting.v2 (this kudev reads .v1)'],
    })
    expect(parseHosting(configMap({'localRegistryHosting.v3': 'x: y'}))).to.deep.equal({
      notes: [
        'ignored localRegistryHosting.v3 (this kudev reads .v1)',
        'ConfigMap kube-public/local-registry-hosting has no localRegistryHosting.v1',
      ],
    })
  })

  const malformed: [string, unknown, string][] = [
    ['no data', configMap(undefined), 'ConfigMap kube-public/local-registry-hosting has no data'],
    ['not YAML', configMap({'localRegistryHosting.v1': 'host: [unclosed'}), 'is not a YAML mapping'],
    ['a list', configMap({'localRegistryHosting.v1': '- localhost:5001'}), 'names no host'],
    ['no host', configMap({'localRegistryHosting.v1': 'help: https://x'}), 'names no host'],
    ['a host that is not a string', configMap({'localRegistryHosting.v1': 'host: {a: 1}'}), 'names no host'],
  ]
  for (const [what, value, note] of malformed) {
    it(`advertises nothing when the ConfigMap has ${what}, and says why`, () => {
      const parsed = parseHosting(value)
      expect(parsed.hosting).to.equal(undefined)
      expect(parsed.notes.at(-1)).to.include(note)
    })
  }
})

describe('read (the API server answer)', () => {
  it('remembers a missing ConfigMap and a forbidden read, not refused credentials or failures', () => {
    expect(read({status: 'not-found'}).source).to.equal('cluster')
    expect(read({code: 403, message: 'forbidden', status: 'denied'}).source).to.equal('cluster')
    expect(read({code: 401, message: 'Unauthorized', status: 'denied'})).to.deep.equal({
      notes: ["the API server refused kudev's credentials: Unauthorized"],
      source: 'unknown',
    })
    expect(read({message: 'no answer within 3 s', status: 'failed'}).source).to.equal('unknown')
  })
})
