import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clipIncident, INCIDENT_BOUNDS as B, parseIncident, IncidentValidationError, type IncidentInput } from '../../src/core/incident.js';
import { importJsonl } from '../../src/importers/jsonl.js';
import { buildIncident } from '../fixtures/core/build-incident.js';

const datasets = path.resolve('../shared/datasets');
const skip = (p: string) => (existsSync(p) ? false : `needs ${path.relative(process.cwd(), p)} (the shared datasets are not beside this clone)`);
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i % 100}`).join(' ');

describe('incident bounds', () => {
  it('the schema refuses a value beyond its bound, naming the field', () => {
    assert.throws(() => buildIncident({ title: 'x'.repeat(B.title + 1) }), (e: Error) => e instanceof IncidentValidationError && /title/.test(e.message));
    assert.throws(() => buildIncident({ tags: Array.from({ length: B.tags + 1 }, (_, i) => `t${i}`) }), /tags/);
    assert.throws(() => buildIncident({ sources: [{ url: `https://example.com/${'a'.repeat(B.sourceUrl)}` }] }), /sources\.0\.url/);
    assert.throws(() => buildIncident({ entities: { actors: ['a'.repeat(B.entity + 1)], victims: [], software: [], cves: [], countries: [] } }), /entities\.actors\.0/);
    assert.throws(() => buildIncident({ id: `test:${'x'.repeat(B.id)}` }), /id/);
  });

  it('clipIncident cuts every text and list to its bound, so the record validates instead of failing', () => {
    const huge: IncidentInput = {
      id: 'test:huge',
      kind: 'incident',
      title: words(1_000_000),
      summary: words(100_000),
      body: 'b'.repeat(B.body * 2),
      impact: words(10_000),
      aliases: Array.from({ length: 10_000 }, (_, i) => `alias ${i} ${'a'.repeat(i === 0 ? 5000 : 1)}`),
      tags: Array.from({ length: 5000 }, (_, i) => (i === 0 ? 't'.repeat(5000) : `tag${i}`)),
      sources: [
        { url: `https://example.com/${'a'.repeat(5000)}`, publisher: 'Kept without its link' },
        { url: `https://example.com/${'a'.repeat(5000)}` },
        { url: 'https://example.com/ok', title: words(10_000), publisher: 'p'.repeat(1000), published: `2024-01-01${'x'.repeat(100)}` },
        ...Array.from({ length: 2000 }, (_, i) => ({ url: `https://example.com/${i}` })),
      ],
      entities: {
        actors: Array.from({ length: 5000 }, (_, i) => `actor ${i}`),
        victims: ['v'.repeat(10_000)],
        software: [],
        cves: ['CVE-2024-1234', `CVE-2024-${'9'.repeat(1000)}`],
        countries: [],
      },
      related: ['test:ok', `test:${'r'.repeat(1000)}`],
    };
    const r = parseIncident(clipIncident(huge));
    assert.ok(r.title.length <= B.title && r.title.startsWith('w0 w1 w2'), 'title clipped at a word boundary');
    assert.ok(r.title.endsWith('…'), 'a clipped title ends with an ellipsis');
    assert.ok(r.summary.length <= B.summary, 'r.summary.length <= B.summary');
    assert.equal(r.body!.length, B.body);
    assert.equal(r.aliases.length, B.aliases);
    assert.ok(r.aliases[0]!.length <= B.alias, 'r.aliases[0]!.length <= B.alias');
    assert.equal(r.tags.length, B.tags);
    assert.ok(r.tags[0]!.length <= B.tag, 'r.tags[0]!.length <= B.tag');
    assert.equal(r.sources.length, B.sources);
    assert.deepEqual(r.sources[0], { publisher: 'Kept without its link' }, 'an overlong link is dropped, its source kept by its publisher');
    assert.equal(r.sources[1]!.url, 'https://example.com/ok', 'a source with nothing but an overlong link is dropped');
    assert.ok(r.sources[1]!.title!.length <= B.sourceTitle && r.sources[1]!.publisher!.length <= B.publisher, 'r.sources[1]!.title!.length <= B.sourceTitle && r.sources[1]!.publisher!.leng...');
    assert.equal(r.entities.actors.length, B.entities);
    assert.ok(r.entities.victims[0]!.length <= B.entity, 'r.entities.victims[0]!.length <= B.entity');
    assert.deepEqual(r.entities.cves, ['CVE-2024-1234']);
    assert.deepEqual(r.related, ['test:ok']);
  });

  it('clipIncident leaves a record within the bounds exactly as it was', () => {
    const ok = buildIncident({ title: 't'.repeat(B.title), aliases: ['a', 'b'], tags: ['x'], sources: [{ url: 'https://example.com/a', publisher: 'P' }] });
    assert.deepEqual(clipIncident(ok), ok);
    assert.equal(clipIncident(null), null);
    assert.equal(clipIncident('text'), 'text');
  });

  it('importers clip an overlong record rather than refuse the file', () => {
    const line = JSON.stringify({
      id: 'test:bomb',
      title: words(200_000),
      date: '2024-01-01',
      summary: words(50_000),
      sources: ['https://example.com/1'],
      tags: ['type:incident', ...Array.from({ length: 3000 }, (_, i) => `tag:${i}`)],
      aliases: Array.from({ length: 3000 }, (_, i) => `Alias ${i}`),
    });
    const [r] = importJsonl(`${line}\n`, 'bomb.jsonl');
    assert.ok(r!.title.length <= B.title, 'r!.title.length <= B.title');
    assert.equal(r!.tags.length, B.tags);
    assert.equal(r!.aliases.length, B.aliases);
    const full = JSON.stringify({ id: 'test:bomb2', kind: 'incident', title: words(100_000), summary: 'S.', tags: Array.from({ length: 3000 }, (_, i) => `t${i}`) });
    const [r2] = importJsonl(`${full}\n`, 'bomb2.jsonl');
    assert.ok(r2!.title.length <= B.title, 'r2!.title.length <= B.title');
    assert.equal(r2!.tags.length, B.tags);
  });
});

describe('the bounds hold every real record (../shared/datasets): clipping never shortens real data', () => {
  const jsonl = path.join(datasets, 'incidents.jsonl');
  it('incidents.jsonl', { skip: skip(jsonl) }, () => {
    for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as { id: string; title: string; summary: string; tags: string[]; aliases: string[]; sources: string[] };
      const where = r.id;
      assert.ok(r.title.length <= B.title, where);
      assert.ok(r.summary.length <= B.summary, where);
      assert.ok(r.tags.length <= B.tags && r.tags.every((t) => t.length <= B.tag), where);
      assert.ok(r.aliases.length <= B.aliases && r.aliases.every((a) => a.length <= B.alias), where);
      assert.ok(r.sources.length <= B.sources && r.sources.every((s) => s.length <= B.sourceUrl), where);
    }
  });

  const raw = (f: string) => path.join(datasets, 'raw', f);
  for (const f of ['enterprise-attack.json', 'ics-attack.json', 'mobile-attack.json']) {
    it(`ATT&CK ${f}`, { skip: skip(raw(f)) }, () => {
      const bundle = JSON.parse(readFileSync(raw(f), 'utf8')) as { objects: Record<string, any>[] };
      for (const o of bundle.objects) {
        if (!['campaign', 'intrusion-set', 'malware', 'tool'].includes(o.type)) continue;
        const where = `${f} ${o.id}`;
        assert.ok(o.name.length <= B.title, where);
        assert.ok((o.description ?? '').length <= B.summary, where);
        const aliases = [...(o.aliases ?? []), ...(o.x_mitre_aliases ?? [])] as string[];
        assert.ok(aliases.length <= B.aliases && aliases.every((a) => a.length <= B.alias), where);
        const refs = (o.external_references ?? []) as { url?: string; source_name?: string }[];
        assert.ok(refs.length <= B.sources, where);
        assert.ok(refs.every((r) => (r.url ?? '').length <= B.sourceUrl && (r.source_name ?? '').length <= B.publisher), where);
      }
    });
  }

  it('CISA KEV', { skip: skip(raw('known_exploited_vulnerabilities.json')) }, () => {
    const kev = JSON.parse(readFileSync(raw('known_exploited_vulnerabilities.json'), 'utf8')) as { vulnerabilities: Record<string, string>[] };
    for (const v of kev.vulnerabilities) {
      assert.ok(v.vulnerabilityName!.length <= B.title, v.cveID);
      assert.ok((v.shortDescription!.length + v.notes!.length + v.requiredAction!.length) <= B.summary, v.cveID);
      assert.ok(`${v.vendorProject} ${v.product}`.length <= B.tag, v.cveID);
    }
  });

  for (const f of ['misp-galaxy-tidal-campaigns.json', 'misp-galaxy-threat-actor.json', 'misp-galaxy-ransomware.json']) {
    it(`MISP galaxy ${f}`, { skip: skip(raw(f)) }, () => {
      const g = JSON.parse(readFileSync(raw(f), 'utf8')) as { values: { value: string; description?: string; meta?: Record<string, unknown> }[] };
      for (const v of g.values) {
        const where = `${f} ${v.value}`;
        const meta = v.meta ?? {};
        const list = (k: string) => (Array.isArray(meta[k]) ? (meta[k] as string[]) : []);
        assert.ok(v.value.length <= B.title, where);
        assert.ok((v.description ?? '').length <= B.summary, where);
        assert.ok(list('synonyms').length <= B.aliases && list('synonyms').every((s) => s.length <= B.alias), where);
        assert.ok(list('refs').length <= B.sources && list('refs').every((s) => s.length <= B.sourceUrl), where);
        for (const k of ['cfr-suspected-victims', 'cfr-target-category', 'country', 'cfr-suspected-state-sponsor']) {
          assert.ok(list(k).length <= B.entities && list(k).every((s) => s.length <= B.entity), `${where} ${k}`);
        }
      }
    });
  }
});
