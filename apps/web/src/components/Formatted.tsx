/**
 * Light formatting of message text as React elements (never HTML): ```code blocks```, `inline code`,
 * **bold**, *italics* or _italics_, http(s) links made clickable (rel="noopener noreferrer"), and
 * @mentions of the message's mentioned members highlighted. Anything else stays literal text, so no
 * markup a sender writes can reach the page as HTML.
 */
import { Fragment, type ReactNode } from 'react';

export interface MentionName {
  name: string;
  /** The mention names the reader. */
  me: boolean;
}

const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+?\*\*)|(\*[^*\s][^*\n]*?\*|\b_[^_\s][^_\n]*?_\b)|(https?:\/\/[^\s<>"'`]+)/g;

export function Formatted({ text, mentions = [] }: { text: string; mentions?: MentionName[] }) {
  const parts = text.split(/```(?:[a-z0-9_-]*\n)?([\s\S]*?)```/g);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable string
          <pre key={i} className="code-block">
            <code>{part.replace(/\n$/, '')}</code>
          </pre>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable string
          <Fragment key={i}>{inline(part, mentions)}</Fragment>
        ),
      )}
    </>
  );
}

function inline(text: string, mentions: MentionName[], depth = 0): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0;
    if (at > last) out.push(...withMentions(text.slice(last, at), mentions, key++));
    const [whole, code, bold, italic, url] = match;
    if (code) out.push(<code key={key++}>{code.slice(1, -1)}</code>);
    else if (bold)
      out.push(
        <strong key={key++}>
          {depth < 2 ? inline(bold.slice(2, -2), mentions, depth + 1) : bold.slice(2, -2)}
        </strong>,
      );
    else if (italic)
      out.push(
        <em key={key++}>
          {depth < 2 ? inline(italic.slice(1, -1), mentions, depth + 1) : italic.slice(1, -1)}
        </em>,
      );
    else if (url) {
      // Trailing punctuation belongs to the sentence, not the link.
      const trimmed = url.replace(/[.,;:!?)\]]+$/, '');
      const href = safeHref(trimmed);
      out.push(
        href ? (
          <a key={key++} href={href} target="_blank" rel="noopener noreferrer">
            {trimmed}
          </a>
        ) : (
          trimmed
        ),
      );
      if (trimmed.length < url.length) out.push(url.slice(trimmed.length));
    } else out.push(whole);
    last = at + whole.length;
  }
  if (last < text.length) out.push(...withMentions(text.slice(last), mentions, key++));
  return out;
}

function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function withMentions(text: string, mentions: MentionName[], key: number): ReactNode[] {
  if (mentions.length === 0 || !text.includes('@')) return [text];
  const names = [...mentions].sort((a, b) => b.name.length - a.name.length);
  const pattern = new RegExp(`@(${names.map((m) => escapeRegExp(m.name)).join('|')})`, 'g');
  const out: ReactNode[] = [];
  let last = 0;
  let n = 0;
  for (const match of text.matchAll(pattern)) {
    const at = match.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const me = names.find((m) => m.name === match[1])?.me ?? false;
    out.push(
      <span key={`${key}-${n++}`} className={me ? 'mention me' : 'mention'} data-testid="mention">
        {match[0]}
      </span>,
    );
    last = at + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
