import {expect} from 'chai'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {loadConfig, parseConfig} from '../../../src/config/index.js'
import {FIXTURES, tempDirs} from './helpers.js'

const fixture = (name: string): Promise<string> => readFile(path.join(FIXTURES, name), 'utf8')

describe('config: loading valid files', () => {
  const temp = tempDirs()
  afterEach(() => temp.cleanup())

  it('loads the original kudev example file unchanged', async () => {
    const dir = await temp.make({'.kudev.yaml': await fixture('original-example.yaml'), Dockerfile: 'FROM scratch\n'})
    const project = await loadConfig({cwd: dir})
    expect(project.file).to.equal(path.join(dir, '.kudev.yaml'))
    expect(project.dir).to.equal(dir)
    expect(project.dockerfile).to.equal(path.join(dir, 'Dockerfile'))
    expect(project.buildContext).to.equal(dir)
    expect(project.config).to.deep.equal({
      apiVersion: 'kudev.io/v1alpha1',
      kind: 'DeploymentConfig',
      metadata: {name: 'myapp'},
      spec: {
        imageName: 'myapp',
        dockerfilePath: './Dockerfile',
        namespace: 'default',
        replicas: 1,
        localPort: 8080,
        servicePort: 8080,
        env: [
          {name: 'LOG_LEVEL', value: 'info'},
          {name: 'DEBUG', value: 'false'},
        ],
        kubeContext: 'docker-desktop',
        buildContextExclusions: ['.git', 'node_modules', 'vendor'],
        buildContext: '.',
        buildArgs: {},
      },
    })
  })

  it('loads what the original `kudev init` wrote, including `env: null`', async () => {
    const dir = await temp.make({'.kudev.yaml': await fixture('original-init.yaml'), Dockerfile: ''})
    const {config} = await loadConfig({cwd: dir})
    expect(config.metadata.name).to.equal('my-service')
    expect(config.spec).to.include({namespace: 'dev', replicas: 2, localPort: 3000, servicePort: 3000})
    expect(config.spec.env).to.deep.equal([])
  })

  it('loads the original test data file', async () => {
    const dir = await temp.make({'.kudev.yaml': await fixture('original-minimal.yaml'), Dockerfile: ''})
    const {config} = await loadConfig({cwd: dir})
    expect(config.spec.replicas).to.equal(2)
    expect(config.spec.env).to.deep.equal([{name: 'LOG_LEVEL', value: 'debug'}])
  })

  it('fills in every default when only the required fields are given', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const text =
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: app}\n'
    const {config} = await parseConfig(text, path.join(dir, '.kudev.yaml'))
    expect(config.spec).to.deep.equal({
      imageName: 'app',
      dockerfilePath: './Dockerfile',
      namespace: 'default',
      replicas: 1,
      localPort: 8080,
      servicePort: 8080,
      env: [],
      buildContextExclusions: [],
      buildContext: '.',
      buildArgs: {},
    })
  })

  it('treats empty values of optional fields as unset, as the original did', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const text = [
      'apiVersion: kudev.io/v1alpha1',
      'kind: DeploymentConfig',
      'metadata: {name: app}',
      'spec:',
      '  imageName: app',
      '  namespace: ""',
      '  replicas:',
      '  kubeContext: ""',
      '  target: ~',
      '  buildArgs:',
      '  buildContextExclusions:',
      '',
    ].join('\n')
    const {config} = await parseConfig(text, path.join(dir, '.kudev.yaml'))
    expect(config.spec.namespace).to.equal('default')
    expect(config.spec.replicas).to.equal(1)
    expect(config.spec).to.not.have.any.keys('kubeContext', 'target')
    expect(config.spec.buildArgs).to.deep.equal({})
  })

  it('reads the pipeline fields and resolves paths from the folder holding the file', async () => {
    const dir = await temp.make({
      'project/.kudev.yaml': await fixture('pipeline.yaml'),
      'project/docker/Dockerfile.dev': 'FROM scratch\n',
      'project/src/main.go': '',
    })
    const project = await loadConfig({cwd: path.join(dir, 'project', 'src')})
    expect(project.dockerfile).to.equal(path.join(dir, 'project', 'docker', 'Dockerfile.dev'))
    expect(project.buildContext).to.equal(path.join(dir, 'project', 'src'))
    expect(project.config.spec).to.deep.include({
      imageName: 'registry.local:5000/team/web',
      buildContext: './src',
      target: 'runtime',
      platform: 'linux/arm64/v8',
      builder: 'docker',
      loader: 'kind',
      network: 'none',
      kubeContext: 'kubernetes-admin@kubernetes',
      buildContextExclusions: ['*.md', '/coverage', '\\#notes'],
    })
    // Scalars are taken as written: 1.10 would be 1.1 as a number.
    expect(project.config.spec.buildArgs).to.deep.equal({VERSION: '1.10', DEBUG: 'true', NAME: 'web app'})
  })

  it('accepts absolute paths for dockerfilePath and buildContext', async () => {
    const dir = await temp.make({'elsewhere/Containerfile': '', 'ctx/a.txt': ''})
    const text = [
      'apiVersion: kudev.io/v1alpha1',
      'kind: DeploymentConfig',
      'metadata: {name: app}',
      'spec:',
      '  imageName: app',
      `  dockerfilePath: ${path.join(dir, 'elsewhere', 'Containerfile')}`,
      `  buildContext: ${path.join(dir, 'ctx')}`,
      '',
    ].join('\n')
    const project = await parseConfig(text, path.join(dir, 'conf', '.kudev.yaml'))
    expect(project.dockerfile).to.equal(path.join(dir, 'elsewhere', 'Containerfile'))
    expect(project.buildContext).to.equal(path.join(dir, 'ctx'))
  })

  it('keeps a `__proto__` build argument as an ordinary argument', async () => {
    const dir = await temp.make({Dockerfile: ''})
    const text =
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec:\n  imageName: app\n  buildArgs: {__proto__: x}\n'
    const {config} = await parseConfig(text, path.join(dir, '.kudev.yaml'))
    expect(Object.keys(config.spec.buildArgs)).to.deep.equal(['__proto__'])
    expect(Object.getPrototypeOf(config.spec.buildArgs)).to.equal(Object.prototype)
  })
})
