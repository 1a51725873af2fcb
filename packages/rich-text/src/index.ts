export { renderMarkdown, sanitizePostHtml, htmlToText, readingMinutes, countWords } from './rich-text.ts';
