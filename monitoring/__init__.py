"""Model health: backtests of past scoring runs once their labels have matured, drift of the
features and scores against the champion's training snapshot, and the alarms they raise."""
