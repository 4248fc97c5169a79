// Undo/redo over snapshots of an editor's state: `take()` copies the state, `restore(copy)` puts it back.

export class History {
  constructor({ take, restore, limit = 100 }) {
    this.take = take;
    this.restore = restore;
    this.limit = limit;
    this.undoStack = [];
    this.redoStack = [];
  }

  // Call before a change: the state now becomes one undo step.
  checkpoint() {
    this.undoStack.push(this.take());
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack = [];
  }

  // Forget the last checkpoint (the change it guarded did not happen).
  drop() {
    this.undoStack.pop();
  }

  undo() {
    if (!this.undoStack.length) return false;
    this.redoStack.push(this.take());
    this.restore(this.undoStack.pop());
    return true;
  }

  redo() {
    if (!this.redoStack.length) return false;
    this.undoStack.push(this.take());
    this.restore(this.redoStack.pop());
    return true;
  }
}
