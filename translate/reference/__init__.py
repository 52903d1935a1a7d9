"""The PyTorch reference (junyanz/pytorch-CycleGAN-and-pix2pix) and us: weight conversion both
ways (`convert`), reading its checkpoints into run directories (`checkpoints`), and loading a
reference checkout as a test oracle (`oracle`; tests and tools only, never a source of code).
"""
