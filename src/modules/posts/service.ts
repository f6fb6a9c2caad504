import type { Deps } from '../../platform/deps.js';
import { UsersService } from '../users/service.js';
import { PostsHydrator } from './hydrate.js';
import { MediaService } from './media.js';
import { PostsReader } from './reader.js';
import { PostsWriter } from './writer.js';

/** The posts module's services, for its own routes and for modules that show or act on posts (reactions, later feeds). */
export interface PostsServices {
  users: UsersService;
  hydrator: PostsHydrator;
  reader: PostsReader;
  writer: PostsWriter;
  media: MediaService;
}

const built = new WeakMap<Deps, PostsServices>();

/** One set per Deps: they hold no state of their own, so sharing them only saves allocations. */
export function postsServicesFor(deps: Deps): PostsServices {
  let s = built.get(deps);
  if (!s) {
    const users = new UsersService(deps);
    const hydrator = new PostsHydrator(deps, users);
    s = { users, hydrator, reader: new PostsReader(deps, users, hydrator), writer: new PostsWriter(deps, users, hydrator), media: new MediaService(deps) };
    built.set(deps, s);
  }
  return s;
}
