// Ghost's gating inside a post body. Rendering and sanitising live in @rose/rich-text.

/**
 * Ghost's public-preview divider: in a members-only post, what comes before it is the teaser
 * everyone sees, what follows is for members. The same marker works in content/ markdown.
 */
export const membersMarker = '<!--members-only-->';

/**
 * Splits a gated body at the first members-only marker. Without one, there is no teaser and
 * all of it is for members (Ghost does the same).
 *
 * @example
 * splitAtMembersMarker('<p>Hi</p><!--members-only--><p>Secret</p>'); // { teaser: '<p>Hi</p>', rest: '<p>Secret</p>' }
 */
export function splitAtMembersMarker(body: string): { teaser: string; rest: string } {
  const at = body.indexOf(membersMarker);
  return at === -1 ? { teaser: '', rest: body } : { teaser: body.slice(0, at), rest: body.slice(at + membersMarker.length) };
}

// Ghost 6 gates single blocks too: <!--kg-gated-block:begin nonMember:true memberSegment:"status:free"-->…<!--kg-gated-block:end-->
const gatedBlock = /<!--\s*kg-gated-block:begin ([^\n]*?)\s*-->([\s\S]*?)<!--\s*kg-gated-block:end\s*-->/g;

/**
 * Resolves Ghost's per-block gating in a members-only part that every reader of the post
 * shares: a block stays only when every member who may read the post is in its segment
 * (`status:free` = free members, `status:-free` = paying ones). Blocks for visitors who are
 * not signed in go: members read this part. So a paid-only block never reaches a free member.
 */
export function resolveGatedBlocks(html: string, visibility: 'members' | 'paid' | 'tiers'): string {
  const readers = visibility === 'members' ? ['status:free', 'status:-free'] : ['status:-free'];
  return html.replace(gatedBlock, (_whole, params: string, content: string) => {
    const segment = /memberSegment:["']?([^"'\s]*)["']?/.exec(params)?.[1] ?? '';
    const allowed = segment.split(',').filter(Boolean);
    return readers.every((r) => allowed.includes(r)) ? content : '';
  });
}

