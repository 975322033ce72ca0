"""Procedural stand-ins for the book's datasets: generators only, apart from the loaders (as scikit-learn keeps
make_* apart from load_*).

Modules:

- :mod:`~book_utils.standins.formats`: file writers (Python-2 flavoured pickles, reproducible ``.npz``).
- :mod:`~book_utils.standins.draw`: drawing primitives for any canvas size (signed distances, noise, blur, colours).
- :mod:`~book_utils.standins.backgrounds`: background painters (sky, water, grass, road, indoor, textures...).
- :mod:`~book_utils.standins.cifar10_objects`: the object drawing state, class palettes and the four vehicles.
- :mod:`~book_utils.standins.cifar10_animals`: the six CIFAR-10 animals.
- :mod:`~book_utils.standins.cifar10_scene`: one chunk of CIFAR-10 scenes (pose, background, object, nuisances).
- :mod:`~book_utils.standins.cifar10`: the CIFAR-10 stand-in's API, :func:`render_cifar10` and :func:`write_cifar10`.
- the other modules (``banknotes``, ``chars74k``, ``captcha``, ...): the other datasets' generators.
"""
