import { createServedService } from '../../src/core/create-service.js';
import { parseIncident, type IncidentInput } from '../../src/core/incident.js';
import { buildServed } from '../../src/core/served.js';

// Made-up records for ranking rules: names of several words, a campaign named after a product that a group also
// attacked, a group whose profile shares a campaign's words. Phrasings of our own, tried by test/core/understand-ranking.
const src = [{ url: 'https://example.org/report' }];
/** Made-up groups, campaigns, tools and flaws whose names and texts overlap the way real ones do. */
export const TUNE_RECORDS: IncidentInput[] = [
  {
    id: 'tune:G1', kind: 'group', title: 'Copper Heron', aliases: ['Recruiter Spider'],
    summary: 'Copper Heron is an espionage group active since 2015.',
    tags: ['uses:Loomkey', 'sector:aerospace', 'victim-country:Norway', 'lure:job offer documents'], sources: src,
  },
  {
    id: 'tune:C1', kind: 'incident', title: 'Operation Quiet Loom', date: { value: '2022-03', precision: 'month' },
    summary: 'Operation Quiet Loom is named after a file path its implant used, as the vendor who reported it explained in a blog post that year and again at a conference the next spring. In early 2022 operators posing as fake recruiters on professional networks sent job offer documents to aerospace engineers in Norway. Opening a document installed a backdoor that copied design files.',
    tags: ['attributed-to:Copper Heron', 'uses:Loomkey'], sources: src,
  },
  { id: 'tune:S1', kind: 'software', title: 'Loomkey', summary: 'Loomkey is a backdoor that copies files and takes screenshots.', sources: src },
  {
    id: 'tune:C2', kind: 'incident', title: 'Night Falcon', date: { value: '2019-06', precision: 'month' },
    summary: 'Night Falcon was a campaign against oil and gas firms that stole bidding documents.', sources: src,
  },
  {
    id: 'tune:G5', kind: 'group', title: 'Amber Reed', summary: 'Amber Reed is an espionage group whose actors are tied to Night Falcon.',
    tags: ['campaign:Night Falcon'], sources: src,
  },
  { id: 'tune:G2', kind: 'group', title: 'Falconry Crew', summary: 'Falconry Crew is a financially motivated group.', sources: src },
  { id: 'tune:G3', kind: 'group', title: 'Grey Falcon', summary: 'Grey Falcon is a group that targets telecoms.', sources: src },
  {
    id: 'tune:C3', kind: 'incident', title: 'Operation SilverBirch', date: { value: '2021-09', precision: 'month' },
    summary: 'Operation SilverBirch targeted forestry ministries with spear phishing.', sources: src,
  },
  { id: 'tune:S2', kind: 'software', title: 'Silver Sparrow', summary: 'Silver Sparrow is a loader.', sources: src },
  {
    id: 'tune:G4', kind: 'group', title: 'Rust Gate', summary: 'Rust Gate is a hacktivist group that defaced Vantor PLC panels at water plants and posted the screenshots.',
    tags: ['target:Vantor'], sources: src,
  },
  {
    id: 'tune:C4', kind: 'incident', title: 'Vantor Defacement Campaign', date: { value: '2023-11', precision: 'month' },
    summary: 'Attackers changed the screens of Vantor controllers at water utilities. The campaign was claimed by Rust Gate.',
    tags: ['attributed-to:Rust Gate'], sources: src,
  },
  {
    id: 'tune:CVE-2023-5555', kind: 'vulnerability', title: 'Vantor Vision PLC and HMI default password', date: { value: '2023-12-01', precision: 'day' },
    summary: 'Vantor PLC panels ship with a default password. Rust Gate abused it.', tags: ['vendor:Vantor', 'product:Vision PLC'], sources: src,
  },
  {
    id: 'tune:C5', kind: 'incident', title: 'Brightline Transfer Zero-Day Exploits', date: { value: '2024-10', precision: 'month' },
    summary: 'Criminals exploited two zero-days in Brightline Transfer servers to steal files, and an extortion gang named Marl claimed the thefts.',
    tags: ['uses:Marl'], sources: src,
  },
  ...[1, 2, 3].map((i): IncidentInput => ({
    id: `tune:CVE-2024-700${i}`, kind: 'vulnerability', title: `Brightline Transfer flaw ${i}`, date: { value: `2024-0${i}-10`, precision: 'day' },
    summary: `A flaw in Brightline Transfer, number ${i}.`, tags: ['vendor:Brightline', 'product:Brightline Transfer'], sources: src,
  })),
];

/** Returns the real incident service (index, graph, understanding) over the made-up records. */
export function buildTuneService() {
  return createServedService(buildServed({ bundled: [], files: TUNE_RECORDS.map((r) => parseIncident(r)) }));
}
