import { createServedService } from '../../src/core/create-service.js';
import { parseIncident, type IncidentInput } from '../../src/core/incident.js';
import { buildServed } from '../../src/core/served.js';

// Made-up records with the relations real datasets state (tags and links), and phrasings of our own: every rule of
// understanding is tried on wording no evaluation file uses.
const src = [{ url: 'https://example.org/report' }];
/** Made-up groups, tools, campaigns and flaws (14 of one vendor, for paging) with their relations. */
export const UNDERSTAND_RECORDS: IncidentInput[] = [
  { id: 'test:G1', kind: 'group', title: 'Crimson Kite', aliases: ['CK Team'], summary: 'Crimson Kite is a threat group based in Vietnam that targets shipping firms.', tags: ['uses:Harrow'], links: [{ type: 'attributed-to', to: 'country:VN' }], sources: src },
  { id: 'test:G2', kind: 'group', title: 'Slate Wolf', summary: 'Slate Wolf is an espionage group operating from Russia.', tags: ['uses:Quillpen', 'uses:Harrow'], links: [{ type: 'attributed-to', to: 'country:RU' }], sources: src },
  { id: 'test:S1', kind: 'software', title: 'Harrow', summary: 'Harrow is a modular backdoor written in Go.', sources: src },
  { id: 'test:S2', kind: 'software', title: 'Quillpen', summary: 'Quillpen is a credential stealer that reads browser stores.', sources: src },
  {
    id: 'test:C1', kind: 'incident', title: 'Operation Paper Lantern', date: { value: '2023-05', precision: 'month' },
    summary: 'Operation Paper Lantern began in May 2023 against logistics companies. The intrusions exploited CVE-2023-1111 in Acme Gateway. Investigators attributed the operation to Crimson Kite.',
    tags: ['attributed-to:Crimson Kite', 'uses:Harrow'], sources: src,
  },
  {
    id: 'test:C2', kind: 'incident', title: 'Glass Harbor', date: { value: '2024-02', precision: 'month' },
    summary: 'Glass Harbor was a campaign against port operators that sent fake shipping invoices carrying Quillpen. It ran on Windows and Linux hosts.',
    tags: ['attributed-to:Slate Wolf', 'uses:Quillpen', 'uses:Harrow'], sources: src,
  },
  ...Array.from({ length: 13 }, (_, i): IncidentInput => ({
    id: `test:CVE-2022-${1000 + i}`, kind: 'vulnerability', title: `Acme Gateway flaw ${i + 1}`, date: { value: `2022-${String(i < 9 ? i + 1 : 9).padStart(2, '0')}-15`, precision: 'day' },
    summary: `A flaw in Acme Gateway, number ${i + 1}.`, tags: ['vendor:Acme', 'product:Acme Gateway'], sources: src,
  })),
  { id: 'test:CVE-2023-1111', kind: 'vulnerability', title: 'Acme Gateway authentication bypass', date: { value: '2023-04-10', precision: 'day' }, summary: 'CVE-2023-1111 lets an attacker skip the login of Acme Gateway.', tags: ['vendor:Acme', 'product:Acme Gateway'], entities: { cves: ['CVE-2023-1111'] }, sources: src },
  { id: 'test:CVE-2024-2222', kind: 'vulnerability', title: 'Globex Mail remote code execution', date: { value: '2024-06-01', precision: 'day' }, summary: 'A flaw in Globex Mail.', tags: ['vendor:Globex', 'product:Globex Mail'], sources: src },
];

/** Returns the real incident service (index, graph, understanding) over the made-up records. */
export function buildUnderstandService() {
  return createServedService(buildServed({ bundled: [], files: UNDERSTAND_RECORDS.map((r) => parseIncident(r)) }));
}

