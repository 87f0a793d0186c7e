/**
 * Something operations wait for before they can start, shared by every batch of a consumer
 * process: an upstream's call slots (http-forward's limiter). The consumer claims an operation
 * that goes through a gate only while the gate has a free slot for it.
 */
export interface Gate {
  /** Operations through this gate that may run at once. */
  readonly maxInFlight: number;
}
