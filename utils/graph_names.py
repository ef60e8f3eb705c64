"""Fixed names of graph tensors that training hooks look up with `graph.get_tensor_by_name(NAME + ":0")`.

The ops are created at the graph's root name scope by the code that owns them (e.g. optimization.py); hooks and
scripts import the names from here so producers and consumers cannot drift apart.
"""

# Learning rate used by the current optimizer update (float32 scalar).
LEARNING_RATE = "learning_rate"
# Dynamic loss scale for float16 training; a constant 1.0 when loss scaling is off (float32 scalar).
LOSS_SCALE = "loss_scale"
# Global L2 norm of the unscaled, accumulated, all-reduced gradient before clipping (float32 scalar);
# 0.0 on micro-batches that only accumulate.
GRAD_NORM = "global_grad_norm"
# True on the micro-batch that ends a gradient-accumulation window and applies the update (bool scalar).
UPDATE_STEP = "update_step"
