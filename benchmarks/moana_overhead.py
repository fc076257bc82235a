# Copyright (c) mmwsss contributors. All rights reserved.
"""Training-step cost of the MoANA neck on an output-stride-8 ResNet-50.

Compares, side by side in one process, ResNet-50 (mmpretrain, strides
(1, 2, 1, 1), so a 224 input gives 28 x 28 maps as in the official WSOL
network) + MoANA + GAP + linear with ResNet-50 + GAP + linear. Steps of the
two models alternate so that background load affects both alike, and the
fastest timed step of each is reported. Not a test::

    python benchmarks/moana_overhead.py [--batch-size 2] [--steps 3]

Memory on CUDA is ``torch.cuda.max_memory_allocated`` over a step. On CPU,
where PyTorch keeps no allocator statistics, it is the training state: the
parameters, their gradients and SGD momentum buffers, plus the distinct
storages saved for backward (the activations), measured with
``torch.autograd.graph.saved_tensors_hooks``.
"""
import argparse
import time

import torch
from mmpretrain.models import ResNet
from torch import nn

from mmwsss.models.moana import MoANA


class Classifier(nn.Module):
    """ResNet-50 (output stride 8) [+ MoANA] + GAP + linear classifier."""

    def __init__(self, with_moana: bool, num_classes: int):
        super().__init__()
        self.backbone = ResNet(depth=50, strides=(1, 2, 1, 1))
        self.neck = MoANA(in_channels=2048) if with_moana else nn.Identity()
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.neck(self.backbone(x)[-1])
        return self.fc(feat.mean(dim=(2, 3)))


def saved_activation_bytes(model, images, labels, criterion) -> int:
    """Bytes of the distinct non-parameter storages saved for backward."""
    param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in param_ptrs:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        criterion(model(images), labels)
    return sum(storages.values())


def train_step(model, optimizer, criterion, images, labels, device) -> float:
    """One SGD step; returns its wall time in seconds."""
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    criterion(model(images), labels).backward()
    optimizer.step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--num-classes', type=int, default=200)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()

    device = torch.device(args.device)
    torch.manual_seed(0)
    images = torch.randn(
        args.batch_size, 3, args.size, args.size, device=device)
    labels = torch.randint(
        args.num_classes, (args.batch_size, ), device=device)
    criterion = nn.CrossEntropyLoss()
    runs = {}
    for name, with_moana in (('baseline', False), ('moana', True)):
        model = Classifier(with_moana, args.num_classes).to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        runs[name] = dict(model=model, optimizer=optimizer, times=[])

    for step in range(args.warmup + args.steps):
        for run in runs.values():
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(device)
            elapsed = train_step(run['model'], run['optimizer'], criterion,
                                 images, labels, device)
            if step >= args.warmup:
                run['times'].append(elapsed)
                if device.type == 'cuda':
                    run['memory'] = torch.cuda.max_memory_allocated(device)

    for run in runs.values():
        model = run['model']
        run['params'] = sum(p.numel() for p in model.parameters())
        if device.type != 'cuda':
            # Parameters, gradients and momentum buffers: three copies.
            state = 3 * sum(p.numel() * p.element_size()
                            for p in model.parameters())
            run['memory'] = state + saved_activation_bytes(
                model, images, labels, criterion)
        # The fastest step is the least disturbed by other processes.
        run['time'] = min(run['times'])

    with torch.no_grad():
        feat = runs['baseline']['model'].backbone(images)[-1]
    print(f'device {device}, batch {args.batch_size}, input {args.size}, '
          f'feature map {tuple(feat.shape[1:])}, torch threads '
          f'{torch.get_num_threads()}, {args.steps} timed steps')
    memory_kind = ('peak allocated' if device.type == 'cuda' else
                   'params+grads+momentum+saved activations')
    print(f'{"model":<10}{"params (M)":>12}{"step (s)":>10}'
          f'{"memory (MiB)":>14}  [{memory_kind}]')
    for name, run in runs.items():
        print(f'{name:<10}{run["params"] / 1e6:>12.2f}{run["time"]:>10.3f}'
              f'{run["memory"] / 2**20:>14.1f}')
    base, moana = runs['baseline'], runs['moana']
    print(f'{"ratio":<10}{moana["params"] / base["params"]:>12.3f}'
          f'{moana["time"] / base["time"]:>10.3f}'
          f'{moana["memory"] / base["memory"]:>14.3f}')


if __name__ == '__main__':
    main()
