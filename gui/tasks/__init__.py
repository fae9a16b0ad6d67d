"""The Tasks tab: every asyncio task, the loop's pulse, who blocked the loop, and the loop lab. Pixels only.

Layout:
    panel          TasksPanel: composes the views below and forwards clicks to core.monitor; wires signals
    task_models    TaskTableModel (flat) and GroupedTaskModel (by owner), fed by MonitorUpdate snapshots
    record_models  append-only tables: finished tasks, loop blocks; the lab's results
    lag_plot       LagPlot: the last 60 s of loop lag, painted by hand
    lab_panel      LabPanel: N, delay, run, and the four styles side by side

Everything here turns snapshots from core.monitor into pixels; nothing here measures or decides.
"""
