import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServedService } from '../../src/core/create-service.js';
import { nameKey } from '../../src/core/names.js';
import { buildServed, type ServedData } from '../../src/core/served.js';
import { importFile } from '../../src/importers/index.js';

const RAW = fileURLToPath(new URL('../../../shared/datasets/raw/', import.meta.url));
const R = (name: string) => path.join(RAW, name);
const skip = existsSync(R('misp-galaxy-threat-actor.json')) ? false : "needs ../shared/datasets/raw (the publishers' files), absent in a user's clone";

// Every raw file, as a user would pass them with --data (the references file goes with the campaigns file).
function servedFromRaw(): ServedData {
  const files = [
    ...importFile('stix', [R('enterprise-attack.json'), R('ics-attack.json'), R('mobile-attack.json')]),
    ...importFile('auto', [R('known_exploited_vulnerabilities.json')]),
    ...importFile('misp-galaxy', [R('misp-galaxy-tidal-campaigns.json'), R('misp-galaxy-tidal-references.json')]),
    ...importFile('auto', [R('misp-galaxy-threat-actor.json')]),
    ...importFile('auto', [R('misp-galaxy-ransomware.json')]),
  ];
  return buildServed({ bundled: [], files });
}

describe('the knowledge built from the real raw files', { skip }, () => {
  const served = skip ? undefined : servedFromRaw();
  const service = served ? createServedService(served) : undefined;

  it('"fancy bear" answers attack:G0007 with the MISP APT28 actor in sameAs', () => {
    const answer = service!.answer('fancy bear');
    assert.equal(answer.incident?.id, 'attack:G0007');
    assert.ok(answer.incident?.sameAs?.includes('misp:threat-actor:5b4ee3ea-eee3-4c8e-8323-85ae32658754'), JSON.stringify(answer.incident?.sameAs));
    assert.equal(service!.get('misp:threat-actor:5b4ee3ea-eee3-4c8e-8323-85ae32658754')?.id, 'attack:G0007');
  });

  it('merges about two hundred records, same kind only, none on a common word', () => {
    const byRule: Record<string, number> = {};
    for (const m of served!.merges) byRule[m.rule] = (byRule[m.rule] ?? 0) + 1;
    assert.ok(byRule['misp-related'] >= 40 && byRule['misp-related'] <= 60, JSON.stringify(byRule));
    assert.ok(byRule.names >= 120 && byRule.names <= 200, JSON.stringify(byRule));
    for (const m of served!.merges) assert.equal(service!.get(m.into)?.kind, m.from.startsWith('misp:ransomware:') ? 'software' : 'group', `${m.from} -> ${m.into}`);
    for (const word of ['agent', 'cobalt', 'ransom', 'locker', 'dark']) {
      assert.ok(!served!.merges.some((m) => m.name && nameKey(m.name) === word), `merged on "${word}"`);
    }
    assert.ok(service!.get('attack:S0496')!.aliases.includes('Sodinokibi'), 'REvil takes Sodinokibi');
    assert.ok(!service!.get('attack:G0044')!.aliases.includes('APT41'), 'Winnti Group must not take the MISP APT41 actor');
  });

  it('carries the names the texts introduce (added at import): PrintNightmare, BlueKeep, Zerologon; never another record\'s name', () => {
    assert.ok(service!.get('kev:CVE-2021-34527')!.aliases.includes('PrintNightmare'), 'PrintNightmare');
    assert.ok(service!.get('kev:CVE-2019-0708')!.aliases.includes('BlueKeep'), 'BlueKeep');
    assert.ok(service!.get('kev:CVE-2020-1472')!.aliases.includes('Zerologon'), 'Zerologon');
    assert.ok(!service!.get('attack:S0435')!.aliases.includes('TSCookie'), 'PLEAD must not take the name of the TSCookie record');
    assert.equal(service!.answer('printnightmare').incident?.id, 'kev:CVE-2021-34527');
  });

  it('"solarwinds" answers attack:C0024 with APT29 and the software used in related', () => {
    const answer = service!.answer('solarwinds');
    assert.equal(answer.incident?.id, 'attack:C0024');
    const related = answer.related.map((r) => r.id);
    assert.equal(related[0], 'attack:G0016');
    assert.ok(related.slice(1).every((id) => service!.get(id)?.kind === 'software') && related.length > 2, related.join(', '));
  });

  it('Volt Typhoon shows its KV Botnet campaign; APT29 its campaigns newest first', () => {
    const volt = service!.answer('volt typhoon');
    assert.equal(volt.incident?.id, 'attack:G1017');
    assert.ok(volt.related.some((r) => r.id === 'attack:C0035'), volt.related.map((r) => r.id).join(', '));
    const apt29 = service!.answer('apt29').related.map((r) => r.id);
    assert.ok(apt29.indexOf('attack:C0024') >= 0 && apt29.indexOf('attack:C0024') < apt29.indexOf('attack:C0023'), apt29.join(', '));
  });

  it('answers the next questions in both directions: campaigns and groups using Cobalt Strike and Mimikatz, actors by country', () => {
    const g = service!.graph;
    const users = g.neighbors('attack:S0154', 'uses', 'in');
    assert.ok(users.includes('attack:C0024') && users.includes('attack:G0016'), 'Cobalt Strike used by SolarWinds and APT29');
    assert.ok(g.neighbors('attack:S0002', 'uses', 'in').includes('attack:G0007'), 'APT28 uses Mimikatz');
    assert.ok(g.neighbors('attack:G0016', 'uses').includes('attack:S0154'));
    assert.ok(g.neighbors('country:RU', 'attributed-to', 'in').includes('attack:G0007'));
    assert.ok(g.neighbors('vendor:microsoft', 'affects', 'in').includes('kev:CVE-2021-34527'));
    assert.ok(g.neighbors('kev:CVE-2021-44228', 'exploits', 'in').length > 0, 'Log4Shell is exploited by someone');
  });
});
