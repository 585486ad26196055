// Live updates: the indexer's Server-Sent Events stream when the API offers one
// (/events/stream), otherwise polling /health. Pages re-read the API when the indexed block moves.
import { api } from "./api.js";
import { state } from "./state.js";

const subscribers = new Set();
const waiters = [];
let source = null;

export function onIndexed(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

function advanced(block) {
  if (block === null || block === undefined || block === state.head) return;
  state.head = block;
  for (const fn of subscribers) fn(block);
  for (let i = waiters.length - 1; i >= 0; i--) {
    if (block >= waiters[i].block) {
      waiters[i].resolve(block);
      waiters.splice(i, 1);
    }
  }
}

async function poll() {
  try {
    const health = await api("/health");
    advanced(health.indexed_block);
  } catch {
    /* the next poll retries */
  }
}

export function start() {
  poll();
  if (state.config?.stream && "EventSource" in window) {
    // event: block {block, timestamp} after each indexed block; event: rollback after a reorg.
    source = new EventSource("/events/stream");
    source.addEventListener("block", (event) => {
      try {
        advanced(JSON.parse(event.data).block);
      } catch {
        poll();
      }
    });
    source.addEventListener("rollback", () => {
      state.head = null; // what the page shows may be gone: re-read at whatever is indexed now
      poll();
    });
    // The stream may be quiet while nothing happens; a slow poll keeps the head honest.
    setInterval(poll, 5000);
  } else {
    setInterval(poll, 1000);
  }
}

// Resolves once the indexer has reached `block` (after a transaction, before re-reading).
export function indexedTo(block) {
  if (state.head !== null && state.head >= block) return Promise.resolve(state.head);
  return new Promise((resolve) => {
    waiters.push({ block, resolve });
    poll();
  });
}
