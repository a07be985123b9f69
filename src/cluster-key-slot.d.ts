// The package ships no types; this is the one function the store uses.
declare module "cluster-key-slot" {
  /** Redis Cluster hash slot (0-16383) of a key: its `{hash tag}` when it has a non-empty one. */
  function calculateSlot(key: string | ArrayLike<number>): number;
  export default calculateSlot;
}
