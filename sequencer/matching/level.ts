/** One price level of one side of a book: a FIFO of resting orders and their total remaining base. */
import type { Price } from "./price";
import type { OrderRecord } from "./order-record";

export class PriceLevel {
  head: OrderRecord | null = null;
  tail: OrderRecord | null = null;
  size = 0;
  /** Sum of `remaining` over the orders in this level. */
  total = 0n;

  constructor(
    readonly price: Price,
    readonly key: string,
    /** Decimal rendering, computed once per level rather than per event. */
    readonly display: string,
  ) {}

  get isEmpty(): boolean {
    return this.head === null;
  }

  append(o: OrderRecord): void {
    o.level = this;
    o.prev = this.tail;
    o.next = null;
    if (this.tail) this.tail.next = o;
    else this.head = o;
    this.tail = o;
    this.size += 1;
    this.total += o.remaining;
  }

  /** Unlinks `o`; its current remaining amount leaves the total. */
  remove(o: OrderRecord): void {
    if (o.prev) o.prev.next = o.next;
    else this.head = o.next;
    if (o.next) o.next.prev = o.prev;
    else this.tail = o.prev;
    o.prev = o.next = o.level = null;
    this.size -= 1;
    this.total -= o.remaining;
  }
}
