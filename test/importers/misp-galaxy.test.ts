import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importMispGalaxy } from '../../src/importers/misp-galaxy.js';
import { ImportError } from '../../src/importers/util.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/importers/${name}`, import.meta.url)), 'utf8');
const clusters = fixture('mini-campaigns.json');
const references = fixture('mini-references.json');

describe('importMispGalaxy', () => {
  it('imports Tidal-authored campaigns only: not ATT&CK copies, deprecated entries or template texts', () => {
    const incidents = importMispGalaxy(clusters, references, 'mini-campaigns.json');
    assert.deepEqual(incidents.map((i) => [i.id, i.kind]), [
      ['tidal:C3901', 'incident'],
      // No campaign id in meta: the cluster uuid names it.
      ['tidal:c0c0c0c0-3904-4000-8000-000000000005', 'incident'],
    ]);
  });

  it('resolves (/references/<uuid>) citations into sources after inline links, with titles and dates', () => {
    const [gateway] = importMispGalaxy(clusters, references, 'mini-campaigns.json');
    assert.deepEqual(gateway.sources, [
      {
        url: 'https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-001a',
        publisher: 'CISA',
        title: 'Example Gateway Advisory',
        published: '2024-03-05',
      },
      {
        url: 'https://blog.vendor.example/example-gateway',
        title: 'Inside the Example Gateway attacks',
        published: '2024-04-02',
        publisher: 'blog.vendor.example',
      },
    ]);
  });

  it('without references keeps only inline links', () => {
    const [gateway, phishing] = importMispGalaxy(clusters, undefined, 'mini-campaigns.json');
    assert.deepEqual(gateway.sources.map((s) => s.url), ['https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-001a']);
    assert.deepEqual(phishing.sources, []);
  });

  it('dates first_seen/last_seen as months, lists mentioned CVEs, and strips markup and boilerplate', () => {
    const [gateway, phishing] = importMispGalaxy(clusters, references, 'mini-campaigns.json');
    assert.deepEqual(gateway.date, { value: '2024-03', precision: 'month' });
    assert.deepEqual(gateway.dateEnd, { value: '2024-04', precision: 'month' });
    assert.deepEqual(phishing.date, { value: '2023-01', precision: 'month' });
    assert.deepEqual(gateway.tags, ['type:campaign', 'dataset:tidal-cyber-via-misp-galaxy', 'mentions-cve:CVE-2024-1111', 'mentions-cve:CVE-2024-2222']);
    assert.deepEqual(gateway.entities.cves, ['CVE-2024-1111', 'CVE-2024-2222']);
    assert.equal(
      gateway.summary,
      'In March 2024, authorities released an advisory about exploitation of CVE-2024-1111 in Example Gateway by Harbor Spider. ' +
        'More details are in the source report.\nRelated Vulnerabilities: cve-2024-2222',
    );
  });

  it('rejects the references file given as clusters, and other galaxy types', () => {
    assert.throws(
      () => importMispGalaxy(references, undefined, 'mini-references.json'),
      (err: unknown) => err instanceof ImportError && /^mini-references\.json is the references cluster, not the campaigns/.test(err.message),
    );
    const tools = { ...JSON.parse(clusters), type: 'tool' };
    assert.throws(
      () => importMispGalaxy(tools, undefined, 'tool.json'),
      /tool\.json: MISP galaxy type "tool" is not imported: the bot reads the galaxies "campaigns", "threat-actor", "ransomware"/,
    );
    assert.throws(() => importMispGalaxy('{"vulnerabilities":[],"catalogVersion":"1"}', undefined, 'k.json'), /k\.json is not a MISP galaxy cluster file: .*format "kev"/);
  });
});
