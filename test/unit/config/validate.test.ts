import {expect} from 'chai'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {formatProblem, parseConfig, type Problem, validateConfig} from '../../../src/config/index.js'
import {FIXTURES, rejection, tempDirs} from './helpers.js'

/** A valid file whose spec ends at line 6, so lines added to the spec start at line 7. */
const HEAD = [
  'apiVersion: kudev.io/v1alpha1',
  'kind: DeploymentConfig',
  'metadata:',
  '  name: my-app',
  'spec:',
  '  imageName: my-app',
]

describe('config: validation', () => {
  const temp = tempDirs()
  afterEach(() => temp.cleanup())

  async function problemsOf(lines: string[], files: Record<string, string> = {Dockerfile: ''}): Promise<Problem[]> {
    const dir = await temp.make(files)
    return validateConfig(lines.join('\n') + '\n', path.join(dir, '.kudev.yaml'))
  }

  const specCases: Array<{line: string; path: string; col: number; message: string; example?: string}> = [
    {
      line: '  namespace: Dev',
      path: 'spec.namespace',
      col: 14,
      message: '"Dev" is not a DNS-1123 label',
      example: 'default',
    },
    {line: '  namespace: ab', path: 'spec.namespace', col: 14, message: '"ab" is 2 characters long; use 3 to 63'},
    {line: `  namespace: ${'a'.repeat(64)}`, path: 'spec.namespace', col: 14, message: 'is 64 characters long'},
    {line: '  namespace: -dev', path: 'spec.namespace', col: 14, message: '"-dev" is not a DNS-1123 label'},
    {
      line: '  namespace: 123',
      path: 'spec.namespace',
      col: 14,
      message: 'must be a string, got the number 123',
      example: '"123"',
    },
    {
      line: '  replicas: -1',
      path: 'spec.replicas',
      col: 13,
      message: '-1 is out of range; use a whole number from 0 to 2147483647',
      example: '1',
    },
    {line: '  replicas: 1.5', path: 'spec.replicas', col: 13, message: 'must be a whole number, got the number 1.5'},
    {
      line: '  replicas: "2"',
      path: 'spec.replicas',
      col: 13,
      message: 'got the string "2"; remove the quotes',
      example: '2',
    },
    {
      line: '  replicas: many',
      path: 'spec.replicas',
      col: 13,
      message: 'must be a whole number, got the string "many"',
      example: '1',
    },
    {
      line: '  localPort: 0',
      path: 'spec.localPort',
      col: 14,
      message: '0 is out of range; use a whole number from 1 to 65535',
      example: '8080',
    },
    {line: '  localPort: [8080]', path: 'spec.localPort', col: 14, message: 'got a list'},
    {line: '  servicePort: 65536', path: 'spec.servicePort', col: 16, message: '65536 is out of range'},
    {line: '  servicePort: true', path: 'spec.servicePort', col: 16, message: 'got the boolean true'},
    {
      line: '  dockerfilePath: 42',
      path: 'spec.dockerfilePath',
      col: 19,
      message: 'must be a string, got the number 42',
    },
    {
      line: '  dockerfilePath: Missing.dockerfile',
      path: 'spec.dockerfilePath',
      col: 19,
      message: '"Missing.dockerfile" does not exist (looked for ',
    },
    {line: '  dockerfilePath: .', path: 'spec.dockerfilePath', col: 19, message: '"." is not a file'},
    {
      line: '  buildContext: nowhere',
      path: 'spec.buildContext',
      col: 17,
      message: '"nowhere" does not exist',
      example: '.',
    },
    {line: '  buildContext: Dockerfile', path: 'spec.buildContext', col: 17, message: '"Dockerfile" is not a folder'},
    {line: '  kubeContext: my context', path: 'spec.kubeContext', col: 16, message: '"my context" contains blanks'},
    {
      line: '  kubeContext: {name: x}',
      path: 'spec.kubeContext',
      col: 16,
      message: 'must be a string, got a mapping',
      example: 'kind-dev',
    },
    {
      line: '  target: 1st',
      path: 'spec.target',
      col: 11,
      message: '"1st" is not a build stage name',
      example: 'runtime',
    },
    {
      line: '  platform: linux',
      path: 'spec.platform',
      col: 13,
      message: '"linux" is not a platform',
      example: 'linux/amd64',
    },
    {line: '  platform: linux/amd64,linux/arm64', path: 'spec.platform', col: 13, message: 'lists several platforms'},
    {
      line: '  builder: Docker',
      path: 'spec.builder',
      col: 12,
      message: '"Docker" is not a plugin name',
      example: 'docker',
    },
    {
      line: '  loader: kind_local',
      path: 'spec.loader',
      col: 11,
      message: '"kind_local" is not a plugin name',
      example: 'kind',
    },
    {line: '  network: -net', path: 'spec.network', col: 12, message: '"-net" is not a network name', example: 'none'},
    {
      line: '  registry: http://localhost:5001',
      path: 'spec.registry',
      col: 13,
      message: 'write host[:port][/path] without http://',
      example: 'localhost:5001',
    },
    {
      line: '  registry: Registry.example.com/Team',
      path: 'spec.registry',
      col: 13,
      message: '"Registry.example.com/Team" is not a registry',
      example: 'localhost:5001',
    },
    {line: '  env: {LOG_LEVEL: debug}', path: 'spec.env', col: 8, message: 'must be a list, got a mapping'},
    {
      line: '  env: ["LOG_LEVEL=debug"]',
      path: 'spec.env[0]',
      col: 9,
      message: 'must be a mapping with name and value, got the string "LOG_LEVEL=debug"',
    },
    {
      line: '  env: [{name: log-level, value: x}]',
      path: 'spec.env[0].name',
      col: 16,
      message: '"log-level" is not a valid variable name',
      example: 'LOG_LEVEL',
    },
    {
      line: '  env: [{name: 1ST, value: x}]',
      path: 'spec.env[0].name',
      col: 16,
      message: '"1ST" is not a valid variable name',
      example: '_1ST',
    },
    {line: '  env: [{value: x}]', path: 'spec.env[0].name', col: 9, message: 'is required', example: 'LOG_LEVEL'},
    {
      line: '  env: [{name: PORT, value: 3000}]',
      path: 'spec.env[0].value',
      col: 29,
      message: 'must be a string, got the number 3000',
      example: '"3000"',
    },
    {line: '  env: [{name: DEBUG, value: [1]}]', path: 'spec.env[0].value', col: 30, message: 'got a list'},
    {
      line: '  buildContextExclusions: "*.md"',
      path: 'spec.buildContextExclusions',
      col: 27,
      message: 'must be a list, got the string "*.md"',
    },
    {
      line: '  buildContextExclusions: ["out\\\\bin"]',
      path: 'spec.buildContextExclusions[0]',
      col: 28,
      message: "uses '\\' as a path separator",
      example: '"out/bin"',
    },
    {
      line: '  buildContextExclusions: [""]',
      path: 'spec.buildContextExclusions[0]',
      col: 28,
      message: 'must not be empty',
    },
    {
      line: '  buildContextExclusions: [2024]',
      path: 'spec.buildContextExclusions[0]',
      col: 28,
      message: 'got the number 2024',
      example: '"2024"',
    },
    {
      line: '  buildArgs: [VERSION=1]',
      path: 'spec.buildArgs',
      col: 14,
      message: 'must be a mapping of argument names to values',
    },
    {
      line: '  buildArgs: {1X: a}',
      path: 'spec.buildArgs.1X',
      col: 15,
      message: '"1X" is not a valid build argument name',
      example: 'VERSION',
    },
    {line: '  buildArgs: {VERSION: }', path: 'spec.buildArgs.VERSION', message: 'has no value', col: 24, example: '""'},
    {line: '  buildArgs: {LIST: [a]}', path: 'spec.buildArgs.LIST', col: 21, message: 'must be a string, got a list'},
  ]

  for (const c of specCases) {
    it(`${c.path}: rejects \`${c.line.trim()}\``, async () => {
      const problems = await problemsOf([...HEAD, c.line])
      expect(problems, JSON.stringify(problems)).to.have.length(1)
      const [problem] = problems as [Problem]
      expect(problem.path).to.equal(c.path)
      expect([problem.line, problem.col]).to.deep.equal([7, c.col])
      expect(problem.message).to.include(c.message)
      if (c.example !== undefined) expect(problem.example).to.equal(c.example)
      expect(problem.example, 'every field problem shows a valid value').to.be.a('string').and.not.equal('')
    })
  }

  const imageCases: Array<{value: string; message: string; example: string}> = [
    {value: 'my-app:1.0', message: 'includes a tag (":1.0"); kudev sets the tag itself', example: 'my-app'},
    {value: 'my-app@sha256:abcd', message: 'includes a digest; kudev sets the tag itself', example: 'my-app'},
    {value: 'My-App', message: 'has uppercase letters', example: 'my-app'},
    {value: 'team//app', message: 'is not an image repository name', example: 'my-app'},
    {value: '-app', message: 'is not an image repository name', example: 'my-app'},
  ]
  for (const c of imageCases) {
    it(`spec.imageName: rejects ${c.value}`, async () => {
      const problems = await problemsOf([...HEAD.slice(0, 5), `  imageName: ${c.value}`])
      expect(problems.map((p) => [p.path, p.line, p.col])).to.deep.equal([['spec.imageName', 6, 14]])
      expect(problems[0]?.message).to.include(`"${c.value}" ${c.message}`)
      expect(problems[0]?.example).to.equal(c.example)
    })
  }

  it('rejects a wrong apiVersion and kind, naming the value', async () => {
    const problems = await problemsOf(['apiVersion: kudev.io/v2', 'kind: Deployment', ...HEAD.slice(2)])
    expect(problems.map((p) => [p.path, p.line, p.col])).to.deep.equal([
      ['apiVersion', 1, 13],
      ['kind', 2, 7],
    ])
    expect(problems[0]?.message).to.equal('"kudev.io/v2" is not supported; this kudev reads kudev.io/v1alpha1')
    expect(problems[1]?.message).to.include('"Deployment" is not a kind kudev knows')
    expect(problems[1]?.example).to.equal('DeploymentConfig')
  })

  it('reports missing required fields where they belong', async () => {
    const problems = await problemsOf([
      'kind: DeploymentConfig',
      'metadata:',
      '  name: ""',
      'spec:',
      '  namespace: dev',
    ])
    expect(problems.map((p) => [p.path, p.line, p.col, p.message])).to.deep.equal([
      ['apiVersion', 1, 1, 'is required'],
      ['metadata.name', 3, 9, 'must not be empty'],
      ['spec.imageName', 4, 1, 'is required'],
    ])
  })

  it('reports missing or mistyped sections', async () => {
    expect((await problemsOf(HEAD.slice(0, 2))).map((p) => [p.path, p.message])).to.deep.equal([
      ['metadata', 'is required'],
      ['spec', 'is required'],
    ])
    const problems = await problemsOf([...HEAD.slice(0, 2), 'metadata: my-app', 'spec: [imageName]'])
    expect(problems.map((p) => [p.path, p.line, p.col, p.message])).to.deep.equal([
      ['metadata', 3, 11, 'must be a mapping, got the string "my-app"'],
      ['spec', 4, 7, 'must be a mapping, got a list'],
    ])
  })

  it('names the missing Dockerfile when the default is used', async () => {
    const problems = await problemsOf(HEAD, {})
    expect(problems).to.have.length(1)
    expect(problems[0]).to.include({path: 'spec.dockerfilePath', line: 5, col: 1})
    expect(problems[0]?.message).to.match(
      /^no dockerfilePath is given and the default "\.\/Dockerfile" does not exist \(looked for .*\/Dockerfile\)$/,
    )
  })

  describe('unknown fields', () => {
    it('suggests the field the user probably meant, at every level', async () => {
      const problems = await problemsOf([
        'apiVersion: kudev.io/v1alpha1',
        'kind: DeploymentConfig',
        'metdata:',
        '  name: x',
        'metadata:',
        '  nmae: my-app',
        '  name: my-app',
        'spec:',
        '  imagename: my-app',
        '  imageName: my-app',
        '  dockerfile: ./Dockerfile',
        '  env:',
        '    - name: A',
        '      vale: b',
      ])
      expect(problems.map((p) => [p.path, p.line, p.col, p.message])).to.deep.equal([
        ['metdata', 3, 1, 'unknown field; did you mean "metadata"?'],
        ['metadata.nmae', 6, 3, 'unknown field; did you mean "name"?'],
        ['spec.imagename', 9, 3, 'unknown field; did you mean "imageName"?'],
        ['spec.dockerfile', 11, 3, 'unknown field; did you mean "dockerfilePath"?'],
        ['spec.env[0].vale', 14, 7, 'unknown field; did you mean "value"?'],
      ])
    })

    it('does not also report a required field as missing when a misspelt key suggests it', async () => {
      const problems = await problemsOf([
        'apiVersion: kudev.io/v1alpha1',
        'kind: DeploymentConfig',
        'metdata: {name: my-app}',
        'spec: {imagename: my-app}',
      ])
      expect(problems.map((p) => p.path)).to.deep.equal(['metdata', 'spec.imagename'])
      const unrelated = await problemsOf([
        'apiVersion: kudev.io/v1alpha1',
        'kind: DeploymentConfig',
        'metadata: {name: my-app}',
        'spec: {imageTag: x}',
      ])
      expect(unrelated.map((p) => [p.path, p.message])).to.deep.include(['spec.imageName', 'is required'])
    })

    it('points at the right section for a field written in the wrong one', async () => {
      const problems = await problemsOf([...HEAD, '  name: my-app', 'namespace: dev'])
      expect(problems.map((p) => [p.path, p.message])).to.deep.equal([
        ['spec.name', 'unknown field here; "name" belongs under metadata:'],
        ['namespace', 'unknown field here; "namespace" belongs under spec:'],
      ])
    })

    it('lists the valid fields when nothing is close', async () => {
      const problems = await problemsOf([...HEAD, '  env: [{name: A, valueFrom: {}}]'])
      expect(problems.map((p) => [p.path, p.message])).to.deep.equal([
        ['spec.env[0].valueFrom', 'unknown field; expected one of name, value'],
      ])
    })
  })

  it('reports a duplicate env name with the positions of both entries', async () => {
    const problems = await problemsOf([
      ...HEAD,
      '  env:',
      '    - name: LOG_LEVEL',
      '      value: a',
      '    - name: OTHER',
      '    - name: LOG_LEVEL',
      '      value: b',
    ])
    expect(problems).to.have.length(1)
    expect(problems[0]).to.include({path: 'spec.env[2].name', line: 11, col: 13})
    expect(problems[0]?.message).to.equal(
      '"LOG_LEVEL" is already set by spec.env[0].name at line 8, col 13; set each variable once',
    )
  })

  it('reports every problem at once, in file order, as one KudevError', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const file = path.join(dir, '.kudev.yaml')
    const error = await rejection(parseConfig(await readFile(path.join(FIXTURES, 'invalid-many.yaml'), 'utf8'), file))
    const problems = error.data?.problems as Problem[]
    expect(problems.map((p) => [p.path, p.line, p.col])).to.deep.equal([
      ['apiVersion', 1, 13],
      ['metadata.name', 4, 9],
      ['spec.imagename', 6, 3],
      ['spec.replicas', 7, 13],
      ['spec.localPort', 8, 14],
      ['spec.env[1].name', 12, 13],
    ])
    expect(error.code).to.equal('config')
    expect(error.exitCode).to.equal(1)
    expect(error.message).to.equal(`${file}: 6 problems`)
    expect(error.data?.file).to.equal(file)
    expect(error.details).to.deep.equal(problems.map(formatProblem))
    expect(error.details[1]).to.equal(
      `${file}:4:9 metadata.name: "My_App" is not a DNS-1123 label: use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. my-app)`,
    )
    expect(error.hint).to.be.a('string').and.include('configuration.md')
  })

  it('uses the problem itself as the message when there is only one', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const file = path.join(dir, '.kudev.yaml')
    const error = await rejection(parseConfig([...HEAD, '  replicas: -1'].join('\n'), file))
    expect(error.message).to.equal(
      `${file}:7:13 spec.replicas: -1 is out of range; use a whole number from 0 to 2147483647 (e.g. 1)`,
    )
    expect(error.details).to.deep.equal([])
    expect(error.data?.problems).to.have.length(1)
  })

  describe('documents that are not a config mapping', () => {
    it('reports malformed YAML with line and column', async () => {
      const dir = await temp.make({Dockerfile: ''})
      const file = path.join(dir, '.kudev.yaml')
      const error = await rejection(parseConfig(await readFile(path.join(FIXTURES, 'malformed.yaml'), 'utf8'), file))
      const problems = error.data?.problems as Problem[]
      expect(problems.map((p) => [p.path, p.line, p.col])).to.deep.equal([['', 7, 4]])
      expect(error.message).to.equal(
        `${file}:7:4 \`namespace\` is indented more than line 6, so YAML reads it as part of the value there`,
      )
      expect(error.details).to.deep.equal(['7 |    namespace: default', '  |    ^'])
      expect(error.hint).to.equal('start `namespace` in the same column as `imageName` on line 6 (column 3)')
    })

    it('reports the first syntax error, in plain words', async () => {
      const problems = await problemsOf([
        'apiVersion: kudev.io/v1alpha1',
        'metadata:',
        '\tname: x',
        'spec: {imageName: "x}',
      ])
      expect(problems.map((p) => [p.line, p.col, p.path, p.message])).to.deep.equal([
        [3, 1, '', 'a tab indents this line; YAML indents with spaces only'],
      ])
    })

    it('explains duplicate keys and extra documents', async () => {
      const duplicate = await problemsOf([...HEAD, '  imageName: other'])
      expect(duplicate.map((p) => [p.line, p.col, p.message])).to.deep.equal([
        [7, 3, 'this key is already set earlier in the same mapping'],
      ])
      const twoDocs = await problemsOf([...HEAD, '---', 'kind: x'])
      expect(twoDocs[0]?.message).to.include('holds a single document')
      expect(twoDocs[0]?.line).to.equal(7)
    })

    it('rejects an empty file', async () => {
      for (const text of [[''], ['# only a comment']]) {
        const problems = await problemsOf(text)
        expect(problems.map((p) => [p.line, p.col, p.message])).to.deep.equal([
          [1, 1, 'the file is empty; it needs apiVersion, kind, metadata and spec'],
        ])
      }
      const error = await rejection(parseConfig('', '/x/.kudev.yaml'))
      expect(error.hint).to.include('kudev init')
    })

    it('rejects a top level that is not a mapping', async () => {
      expect((await problemsOf(['- apiVersion: kudev.io/v1alpha1']))[0]?.message).to.include('not a list')
      expect((await problemsOf(['just text']))[0]?.message).to.include('not the value "just text"')
    })
  })

  it('follows aliases, reporting problems at the anchored value', async () => {
    const problems = await problemsOf([...HEAD, '  localPort: &port 99999', '  servicePort: *port'])
    expect(problems.map((p) => [p.path, p.line, p.col])).to.deep.equal([
      ['spec.localPort', 7, 20],
      ['spec.servicePort', 7, 20],
    ])
  })

  it('refuses an alias inside the value it repeats, at the alias, instead of recursing without end', async () => {
    const problems = await problemsOf([...HEAD, '  buildArgs: &args {A: *args}'])
    expect(problems).to.have.length(1)
    expect(problems[0]).to.include({
      col: 24,
      line: 7,
      message: 'the alias *args stands inside the value it repeats, which would never end; write the value out instead',
    })
    expect(await problemsOf(['a: &a [*a]'])).to.have.length(1)
  })
})
