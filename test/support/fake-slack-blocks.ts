/**
 * Block Kit checks as Slack applies them when a message is posted (limits from Slack's Block Kit reference, written
 * out here on purpose rather than imported from the renderer, so a wrong SLACK_LIMITS cannot hide itself), plus
 * the undocumented ~12,000-character cap on a whole message.
 */
const LIMITS = {
  blocks: 50,
  header: 150,
  sectionText: 3000,
  fields: 10,
  field: 2000,
  contextElements: 10,
  textObject: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  messageChars: 12_000,
};

type Obj = Record<string, any>;

/** Returns the problems Slack would refuse this message for (`invalid_blocks`, `msg_too_long`); empty when valid. */
export function checkMessage(message: Obj): string[] {
  const problems: string[] = [];
  const { blocks, text } = message;
  if (message.delete_original === true && blocks === undefined && text === undefined) return problems;
  if (blocks === undefined) {
    if (typeof text !== 'string' || text.trim() === '') problems.push('no_text: a message needs text or blocks');
    return problems;
  }
  if (!Array.isArray(blocks)) return ['invalid_blocks: blocks is not an array'];
  if (typeof text !== 'string' || text.trim() === '') problems.push('missing text fallback (Slack warns; notifications show nothing)');
  if (blocks.length > LIMITS.blocks) problems.push(`too many blocks: ${blocks.length} > ${LIMITS.blocks}`);
  const size = JSON.stringify({ blocks, text }).length;
  if (size > LIMITS.messageChars) problems.push(`msg_too_long: ${size} characters > ${LIMITS.messageChars}`);
  blocks.forEach((block: Obj, i: number) => checkBlock(block, `blocks[${i}]`, problems));
  return problems;
}

function checkText(obj: Obj | undefined, where: string, max: number, problems: string[], plainOnly = false): void {
  if (!obj || typeof obj !== 'object') return void problems.push(`${where}: missing text object`);
  if (obj.type !== 'plain_text' && obj.type !== 'mrkdwn') problems.push(`${where}: bad text type ${obj.type}`);
  if (plainOnly && obj.type !== 'plain_text') problems.push(`${where}: must be plain_text`);
  if (typeof obj.text !== 'string' || obj.text.length === 0) problems.push(`${where}: empty text`);
  else if (obj.text.length > max) problems.push(`${where}: text ${obj.text.length} > ${max}`);
  if (obj.type === 'plain_text' && 'verbatim' in obj) problems.push(`${where}: verbatim is only for mrkdwn`);
  if (obj.type === 'mrkdwn' && 'emoji' in obj) problems.push(`${where}: emoji is only for plain_text`);
}

function checkBlock(block: Obj, where: string, problems: string[]): void {
  switch (block?.type) {
    case 'header':
      checkText(block.text, `${where}.text`, LIMITS.header, problems, true);
      break;
    case 'section':
      if (!block.text && !block.fields) problems.push(`${where}: a section needs text or fields`);
      if (block.text) checkText(block.text, `${where}.text`, LIMITS.sectionText, problems);
      if (block.fields) {
        if (!Array.isArray(block.fields) || block.fields.length === 0) problems.push(`${where}.fields: empty`);
        else {
          if (block.fields.length > LIMITS.fields) problems.push(`${where}.fields: ${block.fields.length} > ${LIMITS.fields}`);
          block.fields.forEach((f: Obj, j: number) => checkText(f, `${where}.fields[${j}]`, LIMITS.field, problems));
        }
      }
      break;
    case 'context':
      if (!Array.isArray(block.elements) || block.elements.length === 0) problems.push(`${where}.elements: empty`);
      else {
        if (block.elements.length > LIMITS.contextElements) problems.push(`${where}.elements: ${block.elements.length} > ${LIMITS.contextElements}`);
        block.elements.forEach((e: Obj, j: number) => checkText(e, `${where}.elements[${j}]`, LIMITS.textObject, problems));
      }
      break;
    case 'actions':
      if (!Array.isArray(block.elements) || block.elements.length === 0) problems.push(`${where}.elements: empty`);
      else {
        if (block.elements.length > LIMITS.actionsElements) problems.push(`${where}.elements: too many`);
        block.elements.forEach((e: Obj, j: number) => {
          const at = `${where}.elements[${j}]`;
          if (e.type !== 'button') return void problems.push(`${at}: unexpected element ${e.type}`);
          checkText(e.text, `${at}.text`, LIMITS.buttonText, problems, true);
          if (typeof e.action_id !== 'string' || e.action_id.length > LIMITS.actionId) problems.push(`${at}: bad action_id`);
          if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > LIMITS.buttonValue)) problems.push(`${at}: bad value`);
        });
      }
      break;
    case 'divider':
      break;
    default:
      problems.push(`${where}: unexpected block type ${block?.type}`);
  }
}

/** Returns every text string in a message (blocks and fallback), for checks such as escaping. */
export function messageTexts(message: Obj): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key?: string) => {
    if (typeof v === 'string') {
      if (key === 'text') out.push(v);
    } else if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(message.blocks);
  if (typeof message.text === 'string') out.push(message.text);
  return out;
}
