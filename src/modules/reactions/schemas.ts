import { Type } from '@sinclair/typebox';

/** What like and unlike answer, whatever is liked (posts, comments, videos). */
export const LikeState = Type.Object({ liked: Type.Boolean(), likes: Type.Integer({ description: 'The like counter after this call' }) }, { title: 'LikeState' });

/** What save and unsave answer (posts, videos). */
export const SaveState = Type.Object({ saved: Type.Boolean() }, { title: 'SaveState' });
