export {
  sanitiseRemoteHtml,
  htmlToPlainText,
  safeLinkHref,
  maxRemoteHtmlLength,
  allowedRemoteTags,
  type SanitiseOptions,
  type PlainTextOptions,
} from './sanitise.ts';
export {
  composeNote,
  maxNoteLength,
  type ComposeOptions,
  type ComposedNote,
  type ComposeError,
  type MentionHandle,
  type ResolvedMention,
} from './compose.ts';
export {
  parseRemotePost,
  sameOrigin,
  remotePostTypes,
  maxRemoteListLength,
  type RemotePost,
  type RemotePostType,
  type RemoteAttachment,
  type RemotePoll,
  type Visibility,
  type ParseRemotePostOptions,
  type ParseRemotePostError,
} from './remote-post.ts';
