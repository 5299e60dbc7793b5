"""When a scheduled event is due: the one rule every ACE schedule uses."""


def crossed_multiple(before: int, after: int, interval: int) -> bool:
    """
    Whether a counter that went from ``before`` to ``after`` reached a multiple of ``interval`` on the way.

    A vectorized env adds ``n_envs`` env steps at once, so an event due every ``interval`` steps is due when some
    multiple lies in ``(before, after]``, not only when ``after`` is one.

    :param before: the counter's previous value (excluded)
    :param after: its new value (included)
    :param interval: the period, positive
    :return: ``True`` if ``before < k * interval <= after`` for some integer ``k``
    """
    return after // interval > before // interval
