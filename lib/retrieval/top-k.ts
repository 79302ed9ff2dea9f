// Bounded top-k selection over (index, score) pairs with a min-heap; ties go to the lower index so results are
// deterministic. Scoring is left to the caller.

/** A position in the index (0-based row) and its similarity score; larger is better. */
export interface ScoredIndex {
  index: number;
  score: number;
}

/** Keeps the k best pairs pushed into it. */
export class TopK {
  private readonly heap: ScoredIndex[] = [];

  constructor(readonly k: number) {}

  /** Offers one pair; O(log k). */
  push(index: number, score: number): void {
    const heap = this.heap;
    if (this.k <= 0) return;
    if (heap.length < this.k) {
      heap.push({ index, score });
      this.siftUp(heap.length - 1);
    } else if (worse(heap[0]!, { index, score })) {
      heap[0] = { index, score };
      this.siftDown(0);
    }
  }

  /** The kept pairs, best first. */
  sorted(): ScoredIndex[] {
    return [...this.heap].sort((a, b) => (b.score - a.score) || (a.index - b.index));
  }

  private siftUp(position: number): void {
    const heap = this.heap;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (!worse(heap[position]!, heap[parent]!)) break;
      [heap[position], heap[parent]] = [heap[parent]!, heap[position]!];
      position = parent;
    }
  }

  private siftDown(position: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * position + 1;
      const right = left + 1;
      let smallest = position;
      if (left < heap.length && worse(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && worse(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === position) return;
      [heap[position], heap[smallest]] = [heap[smallest]!, heap[position]!];
      position = smallest;
    }
  }
}

/** True when `a` ranks below `b` (lower score, or equal score and higher index). */
function worse(a: ScoredIndex, b: ScoredIndex): boolean {
  return a.score < b.score || (a.score === b.score && a.index > b.index);
}
