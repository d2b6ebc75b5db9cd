"""The parts of BlueGreenService (components/blue_green_service.py), one job each: image repository and logs
(image.py), roles (roles.py), task definition and the tasks' network (task.py), traffic: target groups and listener
rules (traffic.py), the ECS service and its scaling (service.py), the CodeDeploy deployment group (codedeploy.py).
Each builder declares its resources under the component with the names they always had, so no URN moves."""
